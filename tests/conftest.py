"""Shared fixtures: the book is built once per test session (from the cache when unchanged)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "tools"))
import build  # noqa: E402  (the script behind `make book`)


def build_book(source, timeout=3600):
    """Run the Sphinx build of a book folder with `make book`'s flags (TensorFlow)."""
    cmd = [str(BIN / "jupyter-book"), "build", str(source), *build.BUILD_FLAGS]
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(cmd, cwd=source, env=env, capture_output=True, text=True,
                          timeout=timeout)


def make_book(backend):
    """Build the real book exactly as `make book` does (parallel execution into the cache,
    then Sphinx) on a backend; return its html folder, failing with the build's log."""
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "build.py")], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=3600)
    assert result.returncode == 0, (
        f"book build on {backend} failed:\n" + result.stdout[-6000:] + "\n" + result.stderr[-6000:])
    return build.output_root(ROOT, backend) / "_build" / "html"


@pytest.fixture(scope="session")
def built_book():
    """Path to _build/html of a successful build of the real book (TensorFlow backend)."""
    return make_book("tensorflow")
