"""A chapter's kernel forked from a build worker that has already imported the heavy
modules (tools/warm_kernels.py) is the kernel a launch would have started, and failing
kernels are reported as before.

Each case runs in its own interpreter: the fork is only taken from a single-threaded
process, and a test runner is not one."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.fixtures.books import ROOT

DRIVER = r"""
import json, sys, threading
from pathlib import Path

import nbformat

from tools import build, warm_kernels

mode, folder = sys.argv[1], Path(sys.argv[2])
if mode == "threads":  # a helper thread, as a test runner or a thread pool would have
    threading.Thread(target=threading.Event().wait, daemon=True).start()
# matplotlib.pyplot fixes its backend when imported: preloaded, it must still show inline
preloaded = mode != "cold" and warm_kernels.preload(["colorsys", "matplotlib.pyplot"])
config = build.book_config(build.ROOT)


def run(source, timeout=None):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    if timeout:
        nb.metadata["execution"] = {"timeout": timeout}
    # what a build worker runs for a chapter (it runs in `folder`)
    nb_json, _, error, forked = build._execute_in_worker(
        str(folder / "chapter.md"), nbformat.writes(nb), config, warm=True
    )
    outputs = nbformat.reads(nb_json, as_version=4).cells[0].get("outputs", [])
    return {
        "error": error,
        "forked": forked,
        "text": "".join(o.get("text", "") for o in outputs),
        "images": sum("image/png" in o.get("data", {}) for o in outputs),
    }


result = {"preloaded": preloaded, "facts": run(sys.stdin.read())}
if mode == "warm":
    result["dead"] = run("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")
    result["hung"] = run("import time\ntime.sleep(120)", timeout=3)
    result["after"] = run("import sys\nprint('colorsys' in sys.modules)")
    result["still_forks"] = warm_kernels.can_fork()
print("RESULT " + json.dumps(result))
"""

FACTS = r"""
import json, os, sys
import matplotlib.pyplot as plt
plt.plot([0, 1])
plt.show()
print(json.dumps({
    "cwd": os.getcwd(),
    "path": sys.path,
    "argv": [sys.argv[0], sys.argv[1]] + sys.argv[3:],
    "env": {k: v for k, v in os.environ.items() if k != "JPY_PARENT_PID"},
    "parent_is_watched": os.environ.get("JPY_PARENT_PID") == str(os.getppid()),
    "own_session": os.getsid(0) == os.getpid(),
    "name": __name__,
    "backend": plt.get_backend(),
    "preloaded_module_present": "colorsys" in sys.modules,
}))
"""


def drive(mode: str, folder) -> dict:
    # as in a build worker: one BLAS thread, else numpy's import starts threads
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    env.pop("PYTEST_CURRENT_TEST", None)  # names the test phase: differs between the runs
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER, mode, str(folder)],
        input=FACTS,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(lines[-1].removeprefix("RESULT "))
    return dict(result, stdout=proc.stdout, stderr=proc.stderr)


def facts(run: dict) -> dict:
    assert run["error"] is None, run["error"]
    assert run["images"] == 1, "the figure was not shown inline"
    return json.loads(run["text"].strip().splitlines()[-1])


@pytest.fixture(scope="module")
def warm(tmp_path_factory):
    folder = tmp_path_factory.mktemp("warm")
    return dict(drive("warm", folder), folder=str(folder))


def test_a_forked_kernel_is_the_kernel_a_launch_would_start(warm, tmp_path_factory):
    folder = tmp_path_factory.mktemp("cold")
    cold = drive("cold", folder)
    assert warm["preloaded"] and not cold["preloaded"]
    assert warm["facts"]["forked"] and not cold["facts"]["forked"]
    forked, launched = facts(warm["facts"]), facts(cold["facts"])
    # the only difference: the preloaded module is there before the chapter imports it
    assert forked.pop("preloaded_module_present") and not launched.pop("preloaded_module_present")
    assert (forked.pop("cwd"), launched.pop("cwd")) == (warm["folder"], str(folder))
    differing = {
        name: (forked["env"].get(name), launched["env"].get(name))
        for name in set(forked["env"]) | set(launched["env"])
        if forked["env"].get(name) != launched["env"].get(name)
    }
    assert not differing, differing
    assert forked == launched
    assert launched["parent_is_watched"] and launched["own_session"]
    # a kernel that knows its parent prints no "connect another client" banner to the log
    assert "another client" not in warm["stdout"] + cold["stdout"], warm["stdout"][-2000:]
    assert launched["backend"] == "module://matplotlib_inline.backend_inline"


def test_a_kernel_that_dies_or_hangs_is_reported_and_the_next_chapter_still_forks(warm):
    assert "DeadKernelError" in warm["dead"]["error"] or "Kernel died" in warm["dead"]["error"]
    assert "timed out" in warm["hung"]["error"]
    # the kernel's signals stay the kernel's: none reaches the driver's event loop, whose
    # handler would shut the kernel down a second time
    assert "Task exception was never retrieved" not in warm["stderr"], warm["stderr"][-3000:]
    assert warm["after"]["error"] is None and warm["after"]["text"].strip() == "True"
    assert warm["still_forks"], "the worker picked up a thread from a chapter"


def test_a_process_with_threads_launches_its_kernels_as_new_interpreters(tmp_path):
    threaded = drive("threads", tmp_path)
    assert not threaded["preloaded"] and not threaded["facts"]["forked"]
    assert not facts(threaded["facts"])["preloaded_module_present"]
