"""Shared fixtures: the book is built once per test session (from the cache when unchanged)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "tools"))
from build import BUILD_FLAGS  # noqa: E402  (the flags `make book` uses)


def build_book(source, output=None, backend="tensorflow", timeout=3600):
    """Run the book build exactly as `make book` does; return the completed process."""
    cmd = [str(BIN / "jupyter-book"), "build", str(source), *BUILD_FLAGS]
    if output is not None:
        cmd += ["--path-output", str(output)]
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(cmd, cwd=source, env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="session")
def built_book():
    """Path to _build/html of a successful build of the real book (TensorFlow backend),
    made exactly as `make book` makes it (parallel execution into the cache, then Sphinx)."""
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "build.py")], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=3600)
    assert result.returncode == 0, (
        "book build failed:\n" + result.stdout[-6000:] + "\n" + result.stderr[-6000:])
    return ROOT / "_build" / "html"
