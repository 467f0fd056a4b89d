"""The grade sheet (CSV), its state file and per-submission reports, written atomically.

``grades.csv`` sits next to ``grades.state.json`` (what was graded, by content hash, and
each row) and ``grades_reports/<file>.txt``. Every write goes to a temporary file in the
same folder, is flushed to disk and then ``os.replace``-d over the old one, so a crash
leaves the old or the new file, never half of one. Re-running skips submissions whose
content hash and grader fingerprint are unchanged.
"""
import csv
import hashlib
import io
import json
import os
import tempfile

STATE_VERSION = 1


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
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
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
    """Whether a state entry already grades this exact file with this exact grader."""
    return (isinstance(entry, dict) and entry.get("sha256") == sha256
            and entry.get("fingerprint") == fingerprint and isinstance(entry.get("row"), dict))


def columns(questions):
    """``file``, one column per question, ``total``, ``status``, ``reason``."""
    return ["file", *questions, "total", "status", "reason"]


def render_csv(rows, questions):
    """CSV text for ``rows`` (dicts) in file order; missing cells are blank."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns(questions), extrasaction="ignore",
                            lineterminator="\n")
    writer.writeheader()
    for row in sorted(rows, key=lambda r: r["file"]):
        writer.writerow({key: _cell(row.get(key)) for key in columns(questions)})
    return out.getvalue()


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}" if value != int(value) else str(int(value))
    return str(value).replace("\n", " ")


def write_sheet(csv_path, rows, questions):
    atomic_write(csv_path, render_csv(rows, questions))


def report_name(file_name):
    """Report file name for a submission (its name, made filesystem-safe, + .txt)."""
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in file_name)
    return safe + ".txt"


def write_report(csv_path, file_name, text):
    atomic_write(os.path.join(reports_dir(csv_path), report_name(file_name)), text)
