"""The repository's promises: the README's two commands, CI calling them, pinned deps."""
import re

from conftest import ROOT


def readme_commands():
    block = re.search(r"## The two commands.*?```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert block, "README has no 'The two commands' code block"
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_readme_gives_exactly_two_commands_build_and_test():
    assert readme_commands() == ["make book", "make test"]


def test_ci_runs_the_readme_test_command():
    script = (ROOT / ".ci" / "run").read_text()
    lines = [l.strip() for l in script.splitlines() if l.strip() and not l.lstrip().startswith("#")]
    assert readme_commands()[1] in lines
    assert lines[0].startswith("set -euo pipefail") or "set -e" in script


def test_every_requirement_is_pinned():
    reqs = [l.split("#")[0].strip() for l in (ROOT / "requirements.txt").read_text().splitlines()]
    reqs = [r for r in reqs if r and r != "-e ."]
    unpinned = [r for r in reqs if "==" not in r]
    assert not unpinned
    names = {re.split(r"[=<>\[]", r)[0].lower() for r in reqs}
    assert {"jupyter-book", "myst-nb", "keras", "jax", "numpy", "matplotlib", "otter-grader",
            "pytest"} <= names
    assert any(n.startswith("tensorflow") for n in names)


def test_jupyter_book_is_pinned_below_2():
    line = next(l for l in (ROOT / "requirements.txt").read_text().splitlines()
                if l.startswith("jupyter-book"))
    assert re.match(r"jupyter-book==1\.", line)


def test_makefile_rebuilds_the_environment_when_requirements_change():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^\$\(STAMP\): requirements\.txt", makefile, re.M)
    for target in ("book", "test"):
        assert re.search(rf"^{target}: \$\(STAMP\)", makefile, re.M)
