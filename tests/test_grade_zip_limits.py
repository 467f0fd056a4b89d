"""Zip submissions are checked for their shape before anything is decompressed: hostile
zips are rejected within a second as ``invalid``, with a short reason."""

import io
import json
import struct
import time
import zipfile
import zlib

import pytest

from autograder import submissions
from tests.fixtures.notebooks import SOLUTION, notebook

NOTEBOOK = json.dumps(notebook(SOLUTION)).encode()


def one_member_zip(name="sub.ipynb", data=NOTEBOOK):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


def aliased_zip(names, payload):
    """A zip whose central directory lists every name in ``names`` for the one member
    stored at offset 0 (the classic overlapping-member zip bomb)."""
    base = one_member_zip("x" * len(names[0]), payload)
    eocd_at = base.rfind(b"PK\x05\x06")
    _, _, _, _, _, cd_size, cd_offset, _ = struct.unpack_from("<4s4H2LH", base, eocd_at)
    entry = base[cd_offset : cd_offset + cd_size]
    fixed = 46  # central directory entry header; the name follows
    entries = b"".join(entry[:fixed] + name.encode() + entry[fixed + len(name) :] for name in names)
    eocd = struct.pack(
        "<4s4H2LH", b"PK\x05\x06", 0, 0, len(names), len(names), len(entries), cd_offset, 0
    )
    return base[:cd_offset] + entries + eocd


def big_notebook_payload(mib):
    """Highly compressible bytes that decompress to ``mib`` MiB (a notebook-shaped start)."""
    return b'{"cells": [], "pad": "' + b" " * (mib << 20) + b'"}'


def rejected(data, tmp_path, name="sub.zip"):
    path = tmp_path / name
    path.write_bytes(data)
    started = time.monotonic()
    with pytest.raises(submissions.InvalidSubmission) as caught:
        submissions.load(str(path), "toy")
    seconds = time.monotonic() - started
    assert caught.value.status == "invalid"
    assert len(caught.value.reason) <= submissions.MAX_REASON
    return caught.value.reason, seconds


def test_an_honest_zip_still_loads(tmp_path):
    path = tmp_path / "ok.zip"
    path.write_bytes(one_member_zip())
    exercise, cells, _ = submissions.load(str(path), "toy")
    assert exercise == "toy" and cells == SOLUTION


def test_overlapping_members_are_rejected_fast(tmp_path):
    names = [f"n{i:03d}.ipynb" for i in range(150)]
    data = aliased_zip(names, big_notebook_payload(1))
    assert len(data) < 64 << 10
    reason, seconds = rejected(data, tmp_path)
    assert "overlap" in reason and seconds < 1


def test_three_hundred_members_are_too_many(tmp_path):
    data = aliased_zip([f"n{i:03d}.ipynb" for i in range(300)], big_notebook_payload(1))
    reason, seconds = rejected(data, tmp_path)
    assert "300 members" in reason and seconds < 1


def test_duplicated_names_are_rejected(tmp_path):
    reason, _ = rejected(aliased_zip(["same.ipynb"] * 2, NOTEBOOK), tmp_path)
    assert "twice" in reason


def test_declared_size_beyond_the_limit_is_a_bomb(tmp_path):
    # Five members of 60 MiB of zeros each: a few hundred KiB compressed.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for i in range(5):
            with archive.open(f"data{i}.bin", "w", force_zip64=False) as member:
                for _ in range(60):
                    member.write(bytes(1 << 20))
        archive.writestr("sub.ipynb", NOTEBOOK)
    data = buffer.getvalue()
    assert len(data) < 2 << 20
    reason, seconds = rejected(data, tmp_path)
    assert "MiB" in reason and seconds < 1


def test_long_member_names_give_a_short_reason(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i in range(50):
            archive.writestr(f"{i:03d}" + "n" * 3000 + ".ipynb", NOTEBOOK)
    reason, seconds = rejected(buffer.getvalue(), tmp_path)
    assert "longer than" in reason and seconds < 1


def test_a_huge_central_directory_is_rejected_from_the_end_record(tmp_path):
    eocd = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 100, 100, 40 << 20, 0, 0)
    reason, _ = rejected(b"\0" * 64 + eocd, tmp_path)
    assert "directory" in reason


def test_reading_the_notebook_has_a_time_budget(tmp_path, monkeypatch):
    monkeypatch.setattr(submissions, "ZIP_SECONDS", 0.0)
    data = one_member_zip(data=big_notebook_payload(4))
    reason, _ = rejected(data, tmp_path)
    assert "took more than" in reason


def test_reasons_never_carry_unbounded_names():
    long = "é" * 10_000
    err = submissions.InvalidSubmission(f"cannot read {long}")
    assert len(err.reason) <= submissions.MAX_REASON
    assert len(submissions.shown("\r\n" + long)) <= 60 and "\r" not in submissions.shown("\r")


def test_zlib_payload_is_what_the_bomb_claims():
    # guards the helper: the aliased member really decompresses to megabytes
    data = big_notebook_payload(1)
    assert len(zlib.compress(data)) < len(data) // 100
