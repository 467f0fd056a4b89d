#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (Ubuntu 22.04 or
# 24.04 base). It installs bubblewrap and a Python @PYTHON_VERSION@ environment with the
# grader's pinned requirements under @PREFIX@.
#
# Why not the base's python3: the pins need Python >= 3.11 (22.04 has 3.10), and 24.04 forbids
# a system-wide pip install (PEP 668). uv, pinned from PyPI and run from a bootstrap venv,
# installs a standalone CPython of the right version instead.
# Why outside /autograder: where bubblewrap cannot run, the grader falls back to setuid mode
# and makes /autograder unreadable to the student's uid, which must still run this Python.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
PREFIX=@PREFIX@
SOURCE=/autograder/source

apt-get update
apt-get install -y --no-install-recommends bubblewrap ca-certificates python3 python3-venv

python3 -m venv "$PREFIX/bootstrap"
"$PREFIX/bootstrap/bin/python" -m pip install --no-cache-dir "uv==@UV_VERSION@"
UV="$PREFIX/bootstrap/bin/uv"
export UV_PYTHON_INSTALL_DIR="$PREFIX/python" UV_CACHE_DIR="$PREFIX/uv-cache" UV_NO_CONFIG=1
"$UV" python install "@PYTHON_VERSION@"
"$UV" venv --python "@PYTHON_VERSION@" "$PREFIX/venv"
# requirements.txt is the grader's whole dependency closure, each package pinned.
"$UV" pip install --python "$PREFIX/venv/bin/python" -r "$SOURCE/requirements.txt"
rm -rf "$PREFIX/uv-cache"
chmod -R a+rX "$PREFIX"

# Fail the image build now, not at the first submission, if anything the grader needs is
# missing: load the exercise's tests and import what grading it imports.
cd "$SOURCE"
"$PREFIX/venv/bin/python" -m autograder.gradescope check @EXERCISE@
