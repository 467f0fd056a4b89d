"""Shared fixtures. The helpers behind them live in tests/fixtures/ (imported as
`tests.fixtures.*`: a bare `conftest` import would be ambiguous between test folders)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.books import ROOT, built_site


@pytest.fixture(scope="session")
def built_book() -> Path:
    """Path to _build/html of a successful build of the real book (TensorFlow backend)."""
    return built_site("tensorflow")


@pytest.fixture(scope="session")
def assigned(tmp_path_factory) -> Path:
    """A fresh ``python -m autograder.assign --no-run-tests`` of every exercise, once per session:
    a folder holding ``exercises/``, ``autograder/<exercise>/`` and ``_build/exercises/``."""
    root = tmp_path_factory.mktemp("assigned")
    proc = subprocess.run(
        [sys.executable, "-m", "autograder.assign", "--root", str(root), "--no-run-tests"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, f"otter assign failed:\n{proc.stdout}\n{proc.stderr}"
    return root
