"""The grade sheet (CSV), its state file and per-submission reports, written atomically.

``grades.csv`` sits next to ``grades.state.json`` (what was graded, by content hash, and
each result), ``grades_reports/<slug>-<hash>.txt`` (one report per submission, fit for
the student) and ``grades_instructor_reports/`` (the same plus process output and grader
tracebacks: not for students). Every write goes to a temporary file in the same folder,
is flushed to disk and then ``os.replace``-d over the old one, so a crash leaves the old or
the new file, never half of one. Re-running skips submissions whose content hash and
grader fingerprint are unchanged and whose grade is final (a grader error never is).

File names are data: the sheet shows each real name escaped to one line of valid UTF-8
(so CSV readers see exactly one row per file) and no cell starts like a spreadsheet formula.
"""

import csv
import hashlib
import io
import json
import math
import os
import re
import tempfile

STATE_VERSION = 2


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def atomic_write(path, text):
    """Write ``text`` (UTF-8) to ``path`` via a temporary file and ``os.replace``."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def state_path(csv_path):
    base, _ = os.path.splitext(csv_path)
    return base + ".state.json"


def reports_dir(csv_path):
    base, _ = os.path.splitext(csv_path)
    return base + "_reports"


def load_state(csv_path):
    """The state dict (``{"version", "entries": {file: entry}}``); empty when unreadable."""
    try:
        with open(state_path(csv_path), encoding="utf-8") as f:
            state = json.load(f)
        if state.get("version") == STATE_VERSION and isinstance(state.get("entries"), dict):
            return state
    except (OSError, ValueError, AttributeError):
        pass
    return {"version": STATE_VERSION, "entries": {}}


def save_state(csv_path, state):
    atomic_write(state_path(csv_path), json.dumps(state, indent=1, sort_keys=True))


def is_current(entry, sha256, fingerprint):
    """Whether a state entry holds a final grade of this exact file by this exact grader."""
    return (
        isinstance(entry, dict)
        and entry.get("sha256") == sha256
        and entry.get("fingerprint") == fingerprint
        and isinstance(entry.get("result"), dict)
        and entry["result"].get("status") not in (None, "error", "pending")
    )


def columns(questions):
    """``file``, ``exercise``, one column per question, ``total``, ``status``, ``backend``,
    ``reason``, ``report``."""
    return ["file", "exercise", *questions, "total", "status", "backend", "reason", "report"]


def result_row(result):
    """The sheet's row (a dict) for a SubmissionResult."""
    row = {
        "file": result.file,
        "exercise": result.exercise,
        "total": result.total,
        "status": result.status,
        "backend": result.backend,
        "reason": result.reason,
        "report": report_name(result.file) if result.status != "pending" else "",
    }
    if result.status != "pending":
        row.update(result.scores)
    else:
        row["total"] = None
    return row


def display_name(name):
    """A file name as text: bytes that are not UTF-8 (surrogate-escaped by ``os.listdir``)
    become ``\\xNN``, and control characters become escapes, so a name is one line."""
    text = os.fsencode(name).decode("utf-8", "backslashreplace")
    return "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text
    )


MAX_CELL = 2000
"""Characters kept of a text cell (a reason); file names are never cut."""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(text):
    """Text for one CSV cell that a spreadsheet shows as text: one line, valid UTF-8, and a
    leading ``'`` where it would start like a formula (``=``, ``+``, ``-``, ``@``, tab, CR)."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    if text.startswith(FORMULA_STARTS):
        text = "'" + text
    return text.replace("\r\n", " ").replace("\r", " ").replace("\n", " ")


def render_csv(rows, questions):
    """CSV text for ``rows`` (dicts) in file order; missing cells are blank."""
    out = io.StringIO()
    writer = csv.DictWriter(
        out, fieldnames=columns(questions), extrasaction="ignore", lineterminator="\n"
    )
    writer.writeheader()
    for row in sorted(rows, key=lambda r: str(r["file"])):
        cells = {key: _cell(row.get(key)) for key in columns(questions)}
        cells["file"] = safe_cell(display_name(str(row["file"])))
        writer.writerow(cells)
    return out.getvalue()


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, (int, float)):
        return f"{value:.4g}" if value != int(value) else str(int(value))
    text = str(value)
    return safe_cell(text if len(text) <= MAX_CELL else text[: MAX_CELL - 3] + "...")


def write_sheet(csv_path, rows, questions):
    atomic_write(csv_path, render_csv(rows, questions))


def report_name(file_name):
    """Report file name for a submission: a short safe slug of its name plus a hash of the
    real name (its bytes), so any length or encoding works and names never collide
    (``alice smith`` and ``alice_smith`` get different reports)."""
    raw = os.fsencode(file_name)
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", raw.decode("ascii", "ignore")).strip("._")[:60]
    return f"{slug or 'submission'}-{hashlib.sha256(raw).hexdigest()[:10]}.txt"


def instructor_reports_dir(csv_path):
    base, _ = os.path.splitext(csv_path)
    return base + "_instructor_reports"


def write_report(csv_path, file_name, text, instructor=False):
    folder = instructor_reports_dir(csv_path) if instructor else reports_dir(csv_path)
    atomic_write(os.path.join(folder, report_name(file_name)), text)
