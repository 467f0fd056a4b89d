"""A simulated Gradescope run of every exercise's upload zip.

Each run builds what Gradescope's container holds, in a fresh bubblewrap mount namespace: the
zip unpacked at /autograder/source, its run_autograder copied to /autograder/run_autograder,
one submission in /autograder/submission, an empty /tmp, the system's /usr and /etc, and this
kit's Python environment standing in for the one setup.sh installs (setup.sh needs the
network; tests/test_grade_gradescope.py checks what it installs). The checkout is not
mounted, so `dlcourse` and `autograder` import only from the zip. Then results.json is
checked: valid against Gradescope's documented format, the score the planted submission
must get, per-test scores adding up to it, hidden checks shown only after publication.
"""

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import nbformat
import pytest

from autograder import exercises, gradescope, sandbox
from tests.fixtures.containers import base_namespace
from tests.test_exercises import ALL, EXPECTED_LOSSES  # the corpus: which file loses what

REPO = Path(__file__).resolve().parent.parent
SUBMISSIONS = REPO / "tests" / "submissions"
SCHEMA = json.loads((REPO / "tests" / "fixtures" / "gradescope_results.schema.json").read_text())
# The corpus table lives in tests/test_exercises.py (EXPECTED_LOSSES: file -> questions lost);
# the generator moved to tools/make_submissions.py. Same shape as before: mistake -> (_, _, lost).
pytestmark = pytest.mark.skipif(
    not shutil.which("bwrap") or os.getuid() != 0,
    reason="the simulated container needs bubblewrap and root (Gradescope grades as root)",
)

FAST = ("gradient_descent", "mistake_sign_error.ipynb")  # the one fast end-to-end path


def corpus():
    """(exercise, file) pairs to grade in the simulated container: every gradient-descent
    file; for the Genz exercise (it trains a network, ~40 s a file) the solution, one other
    correct implementation, the unmodified notebook and the first mistake of each question."""
    pairs = [("gradient_descent", name) for name in EXPECTED_LOSSES["gradient_descent"]]
    genz = EXPECTED_LOSSES["genz_approximation"]
    chosen = [
        "solution.ipynb",
        "student_unmodified.ipynb",
        next(n for n in genz if n.startswith("correct_")),
    ]
    for question in points("genz_approximation"):
        chosen.append(
            next(
                n
                for n, lost in genz.items()
                if n.startswith("mistake_") and lost != ALL and question in lost
            )
        )
    return pairs + [("genz_approximation", name) for name in chosen]


def points(exercise):
    return {
        q.name: q.points for q in exercises.load_exercise(exercise).questions if q.kind == "auto"
    }


@pytest.fixture(scope="module")
def zips(tmp_path_factory):
    out = tmp_path_factory.mktemp("gradescope")
    return {name: Path(gradescope.build(name, str(out))) for name in exercises.EXERCISES}


def container_command(root, command, env=()):
    """bwrap arguments for a namespace shaped like Gradescope's container, running
    ``command`` as root in /autograder."""
    cmd = base_namespace() + ["--unshare-pid", "--unshare-ipc", "--unshare-uts"]
    cmd += ["--die-with-parent"]
    # Share the host's sandbox-uid locks: concurrent graders (other simulated containers,
    # other tests) must not pick the same uid, whose kill sweep would end each other's work.
    os.makedirs(sandbox.LOCK_DIR, mode=0o700, exist_ok=True)
    cmd += ["--bind", sandbox.LOCK_DIR, sandbox.LOCK_DIR]
    made = set()
    for path in sandbox.python_roots():  # the stand-in for setup.sh's /opt/dlcourse
        parts = path.strip("/").split("/")[:-1]
        for i in range(len(parts)):  # readable by others, as /opt is
            ancestor = "/" + "/".join(parts[: i + 1])
            if ancestor not in made and not ancestor.startswith("/usr"):
                made.add(ancestor)
                cmd += ["--perms", "0755", "--dir", ancestor]
        cmd += ["--ro-bind", path, path]
    cmd += [
        "--bind",
        str(root),
        "/autograder",
        "--chdir",
        "/autograder",
        "--clearenv",
        "--setenv",
        "PATH",
        "/usr/local/bin:/usr/bin:/bin",
        "--setenv",
        "HOME",
        "/tmp",
        "--setenv",
        "LANG",
        "C.UTF-8",
        "--setenv",
        "DLCOURSE_GRADER_PYTHON",
        sys.executable,
    ]
    for key, value in env:
        cmd += ["--setenv", key, value]
    return cmd + ["--", *command]


def make_container(tmp_path, zip_path, submission):
    root = tmp_path / "autograder"
    source = root / "source"
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(source)
    shutil.copy(source / "run_autograder", root / "run_autograder")
    os.chmod(root / "run_autograder", 0o755)  # what Gradescope's image build does
    (root / "submission").mkdir()
    (root / "results").mkdir()
    if submission is not None:
        shutil.copy(submission, root / "submission" / submission.name)
    return root


def simulate(tmp_path, zip_path, submission, timeout=900, env=()):
    """Run the container's run_autograder; returns (results.json as a dict, the process)."""
    root = make_container(tmp_path, zip_path, submission)
    proc = subprocess.run(
        container_command(root, ["/autograder/run_autograder"], env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    results = root / "results" / "results.json"
    assert results.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(results.read_text()), proc


def check_results(data, exercise):
    """What every results.json must satisfy, whatever the submission."""
    jsonschema.validate(data, SCHEMA)
    total = sum(t["score"] for t in data["tests"])
    assert data["score"] == pytest.approx(total, abs=1e-6), "per-test scores must add up"
    assert sum(t["max_score"] for t in data["tests"]) == pytest.approx(
        sum(points(exercise).values())
    )
    visible = [t for t in data["tests"] if t.get("visibility") == "visible"]
    # Nothing visible before publication carries points that could depend on a hidden check.
    assert sum(t["score"] for t in visible) == 0 or not any(
        "hidden" in t["name"] for t in data["tests"]
    )
    assert all("hidden check" not in t["name"] for t in visible)
    for test in data["tests"]:
        assert "- " not in test["name"].split(":")[0], f"otter's bare name: {test['name']}"


def expected_score(exercise, broken):
    return sum(p for q, p in points(exercise).items() if q not in broken)


def test_repository_is_not_importable_in_the_container(tmp_path, zips):
    root = make_container(tmp_path, zips["gradient_descent"], None)
    probe = "import importlib.util as u; print(u.find_spec('{}') is not None)"
    for cwd, expected in (("/tmp", "False"), ("/autograder/source", "True")):
        for module in ("dlcourse", "autograder"):
            cmd = container_command(root, [sys.executable, "-c", probe.format(module)])
            cmd[cmd.index("/autograder", cmd.index("--chdir"))] = cwd
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
            assert out.stdout.strip() == expected, (cwd, module, out.stdout, out.stderr)
    assert not (root / "source" / "autograder" / "assign.py").exists()


def visible_part(data):
    """Everything a student sees before grades are published."""
    return [t for t in data["tests"] if t.get("visibility") == "visible"]


@pytest.fixture(scope="module")
def solution_results(tmp_path_factory, zips):
    """results.json of each exercise's correct submission, graded once per module."""
    cache = {}

    def get(exercise):
        if exercise not in cache:
            cache[exercise], _ = simulate(
                tmp_path_factory.mktemp(exercise),
                zips[exercise],
                SUBMISSIONS / exercise / "solution.ipynb",
            )
        return cache[exercise]

    return get


def test_correct_submission_full_score(solution_results):
    data = solution_results("gradient_descent")
    check_results(data, "gradient_descent")
    assert data["score"] == expected_score("gradient_descent", set())
    hidden = [t for t in data["tests"] if "hidden check" in t["name"]]
    assert hidden and all(t["visibility"] == "after_published" for t in hidden)
    assert all(t["status"] == "passed" for t in data["tests"] if "check" in t["name"])


@pytest.mark.parametrize(
    "exercise, file_name",
    [pytest.param(e, f, marks=[] if (e, f) == FAST else [pytest.mark.slow]) for e, f in corpus()],
)
def test_corpus_file_scores_as_the_table_says(
    tmp_path, zips, solution_results, exercise, file_name
):
    lost = EXPECTED_LOSSES[exercise][file_name]
    broken = set(points(exercise)) if lost == ALL else lost
    path = SUBMISSIONS / exercise / file_name
    if not path.exists():
        pytest.skip(f"{path.name} is not in the corpus yet (tests/test_exercises.py checks that)")
    data, _ = simulate(tmp_path, zips[exercise], path)
    check_results(data, exercise)
    assert data["score"] == pytest.approx(expected_score(exercise, broken))
    for question in broken:  # the arithmetic is spelled out after publication
        entry = next(t for t in data["tests"] if t["name"].startswith(f"{question}: points"))
        assert entry["score"] == 0 and entry["visibility"] == "after_published"
        assert "all-or-nothing:" in entry["output"] and "checks failed -> 0 of" in entry["output"]
    visible = visible_part(data)
    if all(t["status"] == "passed" for t in visible):
        # Caught by hidden checks only: before publication this must look exactly like a
        # correct submission, or resubmitting would be an oracle for the hidden checks.
        assert visible == visible_part(solution_results(exercise))


SPY = """
_SEEN = []


def _spy(function):
    def spied(*args, **kwargs):
        _SEEN.append(sorted((k, float(v)) for k, v in kwargs.items()
                            if isinstance(v, (int, float)) and not isinstance(v, bool)))
        raise ValueError("SEEN " + repr(_SEEN))
    return spied


gradient_descent = _spy(gradient_descent)
"""


def first_calls(hidden):
    """The keyword arguments of the first gradient_descent call of each public (or hidden)
    check, recorded here the way the notebook's spy records them (it raises at once, so each
    check gets no further than its first call)."""
    import numpy as np

    calls = set()

    def recorder(*args, **kwargs):
        calls.add(
            tuple(
                sorted(
                    (k, float(v))
                    for k, v in kwargs.items()
                    if isinstance(v, (int, float)) and not isinstance(v, bool)
                )
            )
        )
        raise ValueError("recorded")

    for question in exercises.load_exercise("gradient_descent").questions:
        for case in question.tests.test_cases if question.tests is not None else ():
            func = case.body.test_func
            if bool(case.hidden) == hidden and "gradient_descent" in func.__code__.co_varnames:
                try:
                    func(gradient_descent=recorder, np=np)
                except ValueError:
                    pass
    return calls


def test_visible_messages_never_carry_hidden_inputs(tmp_path, zips):
    """A notebook records every call's arguments and raises them from each later call: the
    public checks run before any hidden one, so what a student sees before publication
    holds only the public checks' own arguments."""
    public, hidden = first_calls(hidden=False), first_calls(hidden=True)
    hidden_only = hidden - public
    assert hidden_only, "the hidden checks should call with arguments of their own"
    notebook = nbformat.read(SUBMISSIONS / "gradient_descent" / "solution.ipynb", as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(SPY))
    attack = tmp_path / "attack.ipynb"
    nbformat.write(notebook, attack)
    data, _ = simulate(tmp_path, zips["gradient_descent"], attack)
    check_results(data, "gradient_descent")
    seen = set()
    for test in visible_part(data):
        for match in re.finditer(r"SEEN (\[.*?\]\])", test["output"]):
            seen |= {
                tuple(tuple(pair) for pair in call) for call in ast.literal_eval(match.group(1))
            }
    assert seen, "the spy's message should reach the public checks' output"
    assert seen <= public and not seen & hidden_only, (seen, hidden_only)
    later = json.dumps([t for t in data["tests"] if t["visibility"] != "visible"])
    assert "SEEN" in later  # the hidden checks did meet the spy (shown after publication)


def test_setuid_fallback(tmp_path, zips):
    """Where bubblewrap cannot run inside Gradescope's container, the grader falls back to
    setuid mode with /autograder unreadable to the student's uid, and still grades."""
    if any(root.startswith("/tmp/") for root in sandbox.python_roots()):
        # On Gradescope the grader's Python is /opt/dlcourse; a stand-in under /tmp (a
        # checkout there) is hidden by setuid mode's private /tmp, so the grader refuses.
        pytest.skip("this Python lives under /tmp, which setuid mode replaces by a private /tmp")
    data, _ = simulate(
        tmp_path,
        zips["gradient_descent"],
        SUBMISSIONS / "gradient_descent" / "solution.ipynb",
        env=[("DLCOURSE_SANDBOX", "setuid")],
    )
    check_results(data, "gradient_descent")
    details = next(t for t in data["tests"] if t["name"].startswith("Grading details"))
    assert "sandbox: setuid" in details["output"], details["output"]
    assert data["score"] == expected_score("gradient_descent", set())
    assert (tmp_path / "autograder").stat().st_mode & 0o077 == 0


def test_empty_submission_folder(tmp_path, zips):
    data, _ = simulate(tmp_path, zips["gradient_descent"], None)
    check_results(data, "gradient_descent")
    assert data["score"] == 0
    first = data["tests"][0]
    assert first["visibility"] == "visible" and first["status"] == "failed"
    assert "no .ipynb" in first["output"]
