"""The repository's promises: the README's two commands, CI running them, pinned deps, and a
Makefile that rebuilds the environment when the requirements change."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tools.build import ROOT


def readme_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"## The two commands.*?```bash\n(.*?)```", readme, re.S)
    assert block, "README has no 'The two commands' code block"
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_readme_gives_exactly_two_commands_build_and_test():
    assert readme_commands() == ["make book", "make test"]


# ------------------------------------------------------------------ .ci/run, with stand-ins

FAKE = """#!/usr/bin/env bash
echo "$(basename "$0") $*" >> "$CI_LOG"
case " $* " in *" $FAIL_ON "*) exit 7;; esac
"""


def run_ci(tmp_path: Path, fail_on: str = "-") -> tuple[subprocess.CompletedProcess, list[str]]:
    """Run a copy of .ci/run with make, apt-get and npm replaced by stand-ins that log
    their arguments (and fail for `fail_on`)."""
    checkout = tmp_path / "checkout"
    (checkout / ".ci").mkdir(parents=True)
    shutil.copy(ROOT / ".ci" / "run", checkout / ".ci" / "run")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("make", "apt-get", "npm", "sudo", "sysctl"):
        (bin_dir / name).write_text(FAKE)
        (bin_dir / name).chmod(stat.S_IRWXU)
    log = tmp_path / "log"
    log.touch()
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", CI_LOG=str(log), FAIL_ON=fail_on)
    result = subprocess.run(
        ["bash", str(checkout / ".ci" / "run")], env=env, capture_output=True, text=True, timeout=60
    )
    return result, log.read_text().splitlines()


def test_ci_installs_the_sandbox_then_runs_lint_and_the_readme_commands(tmp_path):
    result, calls = run_ci(tmp_path)
    assert result.returncode == 0, result.stderr
    makes = [c.removeprefix("make ") for c in calls if c.startswith("make ")]
    assert makes == ["lint", *[c.removeprefix("make ") for c in readme_commands()]]
    installs = [c for c in calls if c.startswith("apt-get install") or "apt-get install" in c]
    assert installs and "bubblewrap" in installs[0]


@pytest.mark.parametrize("failing", ["lint", "book", "test"])
def test_ci_fails_when_a_step_fails(tmp_path, failing):
    result, calls = run_ci(tmp_path, fail_on=failing)
    assert result.returncode != 0
    makes = [c.removeprefix("make ") for c in calls if c.startswith("make ")]
    assert makes[-1] == failing  # and nothing ran after it


# ------------------------------------------------------------------ requirements and Makefile


def requirement_lines() -> list[str]:
    lines = [
        line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()
    ]
    return [line for line in lines if line and line != "-e ."]


def test_every_requirement_is_pinned():
    unpinned = [r for r in requirement_lines() if "==" not in r]
    assert not unpinned
    names = {re.split(r"[=<>\[]", r)[0].lower() for r in requirement_lines()}
    assert {
        "jupyter-book",
        "myst-nb",
        "keras",
        "jax",
        "numpy",
        "matplotlib",
        "otter-grader",
        "pytest",
        "ruff",
    } <= names
    assert any(n.startswith("tensorflow") for n in names)


def test_jupyter_book_is_pinned_below_2():
    pins = dict(r.split("==", 1) for r in requirement_lines())
    assert pins["jupyter-book"].startswith("1.")


def dry_run(*args: str) -> str:
    result = subprocess.run(
        ["make", "-n", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="no make")
@pytest.mark.parametrize("target", ["book", "test", "test-fast", "lint"])
def test_makefile_rebuilds_the_environment_when_requirements_change(target):
    install = "pip install -q -r requirements.txt"
    assert install in dry_run("-W", "requirements.txt", target)  # requirements changed
    assert install not in dry_run("-o", ".venv/.installed", target)  # environment up to date
