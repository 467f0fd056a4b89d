"""Reading submissions (``.ipynb`` files or otter export ``.zip`` files) and validating them.

Every problem becomes an :class:`InvalidSubmission` with a status (``invalid`` or
``wrong-exercise``) and a sentence a person can act on; nothing here runs student code.
"""

import io
import json
import os
import posixpath
import struct
import time
import zipfile

SUFFIXES = (".ipynb", ".zip")
MAX_NOTEBOOK_BYTES = 16 << 20  # a notebook larger than this is not graded
MAX_ZIP_BYTES = 64 << 20
MAX_CELLS = 2000
MAX_CODE_CHARS = 2 << 20  # all code cells together
MAX_ZIP_MEMBERS = 200
MAX_ZIP_NAME = 255  # bytes of one member's name
MAX_ZIP_DIRECTORY = 1 << 20  # bytes of the zip's central directory
MAX_ZIP_DECLARED = 256 << 20  # uncompressed bytes of all members together
ZIP_SECONDS = 5.0  # time budget for reading the notebook out of a zip
MAX_REASON = 200


def shown(name, limit=60):
    """A file or member name for a reason or note: escaped and cut to ``limit``."""
    text = ascii(name)[1:-1] if not isinstance(name, str) or not name.isprintable() else name
    return text if len(text) <= limit else text[: limit - 3] + "..."


class InvalidSubmission(Exception):
    """A submission that cannot be graded; ``status`` goes into the sheet."""

    def __init__(self, reason, status="invalid"):
        if len(reason) > MAX_REASON:
            reason = reason[: MAX_REASON - 3] + "..."
        super().__init__(reason)
        self.reason = reason
        self.status = status


def list_submissions(folder):
    """Names of the ``.ipynb``/``.zip`` files directly in ``folder``, sorted."""
    names = []
    for entry in os.scandir(folder):
        if entry.name.startswith(".") or not entry.name.lower().endswith(SUFFIXES):
            continue
        if entry.is_file():
            names.append(entry.name)
    return sorted(names)


def read_notebook_bytes(path, exercise=None):
    """The notebook's bytes and notes (e.g. extra files in a zip) for a submission file."""
    size = os.path.getsize(path)
    if size == 0:
        raise InvalidSubmission("the file is empty")
    if path.lower().endswith(".zip"):
        if size > MAX_ZIP_BYTES:
            raise InvalidSubmission(
                f"the zip is {size >> 20} MiB (more than {MAX_ZIP_BYTES >> 20})"
            )
        with open(path, "rb") as f:
            return _notebook_from_zip(f.read(), exercise)
    if size > MAX_NOTEBOOK_BYTES:
        raise InvalidSubmission(
            f"the notebook is {size >> 20} MiB (more than {MAX_NOTEBOOK_BYTES >> 20}); "
            "clear large outputs and submit again"
        )
    with open(path, "rb") as f:
        return f.read(), []


_EOCD = struct.Struct("<4s4H2LH")  # end of central directory record
_LOCAL = struct.Struct("<4s5H3L2H")  # local file header


def check_zip_structure(data):
    """Reject a zip whose shape makes it expensive or ambiguous, before it is parsed:
    too many members or too large a central directory (read from the end record), then
    long or duplicated names, too many declared bytes, and members whose data overlaps
    another's (compared by local header offsets and compressed sizes)."""
    tail = data[-(_EOCD.size + 0xFFFF) :]
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < _EOCD.size:
        raise InvalidSubmission("not a readable zip file (no end of central directory)")
    _, disk, _, _, entries, cd_size, cd_offset, _ = _EOCD.unpack_from(tail, at)
    if disk != 0 or entries == 0xFFFF or cd_size == 0xFFFFFFFF or cd_offset == 0xFFFFFFFF:
        raise InvalidSubmission("multi-part and zip64 archives are not accepted")
    if entries > MAX_ZIP_MEMBERS:
        raise InvalidSubmission(f"the zip has {entries} members (more than {MAX_ZIP_MEMBERS})")
    if cd_size > MAX_ZIP_DIRECTORY:
        raise InvalidSubmission(
            f"the zip's directory is {cd_size >> 10} KiB (more than {MAX_ZIP_DIRECTORY >> 10})"
        )
    try:
        infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, OSError, ValueError, struct.error) as exc:
        raise InvalidSubmission(f"not a readable zip file ({shown(str(exc), 100)})") from None
    names = set()
    declared = 0
    for info in infos:
        if len(info.filename.encode("utf-8", "surrogateescape")) > MAX_ZIP_NAME:
            raise InvalidSubmission(
                f"a member's name is longer than {MAX_ZIP_NAME} bytes ({shown(info.filename)})"
            )
        if info.filename in names:
            raise InvalidSubmission(f"the zip holds {shown(info.filename)} twice")
        names.add(info.filename)
        declared += info.file_size
    if declared > MAX_ZIP_DECLARED:
        raise InvalidSubmission(
            f"the zip's members add up to {declared >> 20} MiB (more than {MAX_ZIP_DECLARED >> 20})"
        )
    spans = []
    for info in infos:
        start = info.header_offset
        if start + _LOCAL.size > len(data):
            raise InvalidSubmission("not a readable zip file (a member lies outside it)")
        fields = _LOCAL.unpack_from(data, start)
        if fields[0] != b"PK\x03\x04":
            raise InvalidSubmission("not a readable zip file (bad member header)")
        end = start + _LOCAL.size + fields[9] + fields[10] + info.compress_size
        spans.append((start, end, info.filename))
    spans.sort()
    limit = min(cd_offset, len(data))  # member data ends where the directory starts
    for (_start, end, name), following in zip(spans, spans[1:] + [(limit, None, None)]):
        if end > following[0]:
            raise InvalidSubmission(
                f"the zip's members overlap ({shown(name)}); re-create it with a normal zip tool"
            )
    return infos


def _notebook_from_zip(data, exercise):
    members = check_zip_structure(data)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InvalidSubmission(f"not a readable zip file ({shown(str(exc), 100)})") from None
    deadline = time.monotonic() + ZIP_SECONDS
    notebooks, extras = [], []
    for info in members:
        name = info.filename
        if info.is_dir() or "__MACOSX" in name or ".ipynb_checkpoints" in name:
            continue
        if posixpath.basename(name).startswith("."):
            continue
        (notebooks if name.lower().endswith(".ipynb") else extras).append(info)
    if not notebooks:
        raise InvalidSubmission("the zip holds no notebook (.ipynb)")
    chosen = notebooks
    if len(notebooks) > 1:
        chosen = (
            [n for n in notebooks if _zip_member_exercise(archive, n, deadline) == exercise]
            if exercise
            else []
        )
        if len(chosen) != 1:
            listed = ", ".join(shown(n.filename, 40) for n in notebooks[:3]) + (
                ", ..." if len(notebooks) > 3 else ""
            )
            raise InvalidSubmission(
                f"the zip holds {len(notebooks)} notebooks ({listed}); submit exactly one"
            )
    notes = []
    ignored = [n.filename for n in notebooks if n is not chosen[0]] + [e.filename for e in extras]
    if ignored:
        listed = ", ".join(shown(n) for n in ignored[:10]) + (" ..." if len(ignored) > 10 else "")
        notes.append(
            f"zip: graded {shown(chosen[0].filename)}; ignored {len(ignored)} other "
            f"file(s): {listed}"
        )
    return _read_member(archive, chosen[0], deadline), notes


def _read_member(archive, info, deadline=None):
    """The member's bytes, at most MAX_NOTEBOOK_BYTES, read in chunks within ``deadline``."""
    if info.file_size > MAX_NOTEBOOK_BYTES:
        raise InvalidSubmission(
            f"the notebook in the zip is {info.file_size >> 20} MiB "
            f"(more than {MAX_NOTEBOOK_BYTES >> 20})"
        )
    chunks, size = [], 0
    try:
        with archive.open(info) as member:
            while size <= MAX_NOTEBOOK_BYTES:
                chunk = member.read(1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if deadline is not None and time.monotonic() > deadline:
                    raise InvalidSubmission(f"reading the zip took more than {ZIP_SECONDS:g} s")
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, EOFError) as exc:
        raise InvalidSubmission(
            f"cannot read {shown(info.filename)} from the zip ({shown(str(exc), 80)})"
        ) from None
    data = b"".join(chunks)
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise InvalidSubmission("the notebook in the zip is too large")
    if not data:
        raise InvalidSubmission(f"{shown(info.filename)} in the zip is empty")
    return data


def _zip_member_exercise(archive, info, deadline=None):
    try:
        return exercise_of(parse_notebook(_read_member(archive, info, deadline)))
    except InvalidSubmission as exc:
        if "took more than" in exc.reason:
            raise
        return None


def parse_notebook(data):
    """The notebook as a dict (nbformat 4 JSON), checked for the parts grading uses."""
    if not data.strip():
        raise InvalidSubmission("the file is empty")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidSubmission(
            f"the file is not UTF-8 text (bad byte at offset {exc.start})"
        ) from None
    try:
        notebook = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidSubmission(
            f"the file is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "was it edited outside Jupyter?"
        ) from None
    except RecursionError:
        raise InvalidSubmission("the file's JSON is nested too deeply") from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        if isinstance(notebook, dict) and "worksheets" in notebook:
            raise InvalidSubmission("the notebook uses the old nbformat 3; save it with Jupyter 4+")
        raise InvalidSubmission("the file is JSON but not a Jupyter notebook (no cells)")
    if len(notebook["cells"]) > MAX_CELLS:
        raise InvalidSubmission(
            f"the notebook has {len(notebook['cells'])} cells (more than {MAX_CELLS})"
        )
    return notebook


def exercise_of(notebook):
    """``metadata["dlcourse"]["exercise"]`` or None."""
    meta = notebook.get("metadata")
    course = meta.get("dlcourse") if isinstance(meta, dict) else None
    name = course.get("exercise") if isinstance(course, dict) else None
    return name if isinstance(name, str) else None


def code_cells(notebook):
    """The sources of the code cells, in order, as strings."""
    sources, total = [], 0
    for cell in notebook["cells"]:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list) and all(isinstance(s, str) for s in source):
            source = "".join(source)
        if not isinstance(source, str):
            raise InvalidSubmission("a code cell's source is not text")
        total += len(source)
        sources.append(source)
    if total > MAX_CODE_CHARS:
        raise InvalidSubmission(
            f"the notebook holds {total} characters of code (more than {MAX_CODE_CHARS})"
        )
    if not sources:
        raise InvalidSubmission("the notebook has no code cells")
    return sources


def load(path, expected_exercise=None):
    """``(exercise, code cells, notes)`` for a submission file, or InvalidSubmission.

    ``expected_exercise`` (from ``--exercise``) must match the notebook's metadata when
    both are known; without it the metadata names the exercise.
    """
    data, notes = read_notebook_bytes(path, expected_exercise)
    notebook = parse_notebook(data)
    exercise = exercise_of(notebook)
    if expected_exercise and exercise and exercise != expected_exercise:
        raise InvalidSubmission(
            f"this notebook is for exercise {exercise!r}, not {expected_exercise!r}",
            status="wrong-exercise",
        )
    if not exercise and not expected_exercise:
        raise InvalidSubmission(
            "the notebook does not say which exercise it is "
            "(metadata dlcourse.exercise); pass --exercise"
        )
    if not exercise:
        notes.append(f"notebook metadata names no exercise; graded as {expected_exercise}")
    return exercise or expected_exercise, code_cells(notebook), notes
