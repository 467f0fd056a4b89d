"""The two autograded exercises grade fairly and work for students, through the real commands.

``tests/submissions/<exercise>/`` (written by ``tools/make_submissions.py``) holds the solution, the
unmodified student notebook, correct variants (``correct_*``: other ways of drawing random orders
and parameters, loops, float32, another network) and one notebook per classic mistake
(``mistake_*``). ``EXPECTED_LOSSES`` below is the table of which questions each file must lose;
the slow tests grade each folder with ``python -m autograder.grade`` and check every score.

The student side: an unmodified notebook runs to its end under any file name; on a simulated
Colab (a stand-in ``google.colab`` module, outside the repository, with ``dlcourse`` and
``autograder`` unimportable) the install cell and the public checks work, and the saved notebook,
stripped of its metadata as a download may be, grades at full marks.
"""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from autograder.exercises import EXERCISES
from tests.fixtures.books import site_extension
from tests.fixtures.grading import read_sheet, run_grader

REPO = Path(__file__).resolve().parent.parent
ALL = "all"

# file -> the autograded questions it must lose (ALL: every one); every other question scores full.
EXPECTED_LOSSES = {
    "gradient_descent": {
        "solution.ipynb": set(),
        "student_unmodified.ipynb": ALL,
        "correct_argsort_order.ipynb": set(),
        "correct_choice_order.ipynb": set(),
        "correct_shuffle_order.ipynb": set(),
        "correct_shuffled_rows.ipynb": set(),
        "correct_loops.ipynb": set(),
        "correct_while_loop.ipynb": set(),
        "correct_float32.ipynb": set(),
        "mistake_sign_error.ipynb": {"q1"},
        "mistake_last_iterate_dropped.ipynb": {"q1"},
        "mistake_stop_rule_off_by_one.ipynb": {"q1"},
        "mistake_strict_tolerance.ipynb": {"q1"},
        "mistake_step_max_norm.ipynb": {"q1"},
        "mistake_flattened_path.ipynb": {"q1"},
        # linreg_cost / linreg_grad feed batch_gd and minibatch_sgd, so q3 and q4 fail too
        "mistake_missing_1_over_m.ipynb": {"q2", "q3", "q4"},
        "mistake_cost_without_half.ipynb": {"q2", "q3", "q4"},
        "mistake_cost_before_update.ipynb": {"q3"},
        "mistake_empty_costs.ipynb": {"q3"},
        "mistake_no_reshuffle.ipynb": {"q4"},
        "mistake_rows_in_order.ipynb": {"q4"},
        "mistake_global_random_state.ipynb": {"q4"},
        "mistake_ignores_given_rng.ipynb": {"q4"},
        "mistake_last_partial_batch_dropped.ipynb": {"q4"},
        "mistake_sum_over_batch.ipynb": {"q4"},
        "mistake_costs_column.ipynb": {"q4"},
    },
    "genz_approximation": {
        "solution.ipynb": set(),
        "student_unmodified.ipynb": ALL,
        "correct_w_drawn_first.ipynb": set(),
        "correct_predict_called_twice.ipynb": set(),
        "correct_one_draw.ipynb": set(),
        "correct_float32.ipynb": set(),
        "correct_loop_over_points.ipynb": set(),
        "correct_relu_three_layers_minibatches.ipynb": set(),
        "mistake_product_peak_without_reciprocal.ipynb": {"q1"},
        "mistake_corner_peak_exponent.ipynb": {"q1"},
        "mistake_discontinuous_cut_on_all_coordinates.ipynb": {"q1"},
        "mistake_gaussian_column.ipynb": {"q1"},
        "mistake_unnormalised_params.ipynb": {"q2"},
        "mistake_c_sums_to_one.ipynb": {"q2"},
        "mistake_w_equals_c.ipynb": {"q2"},
        "mistake_signed_errors.ipynb": {"q3"},
        "mistake_rmse.ipynb": {"q3"},
        "mistake_points_not_from_rng.ipynb": {"q3"},
        "mistake_underfit_network.ipynb": {"q4"},
        "mistake_predict_column.ipynb": {"q4"},
    },
    "euler_equation": {
        "solution.ipynb": set(),
        "student_unmodified.ipynb": ALL,
        "correct_loop_over_nodes.ipynb": set(),
        "correct_float32.ipynb": set(),
        "mistake_consumption_timing.ipynb": {"q1"},
        "mistake_missing_beta.ipynb": {"q1"},
        "mistake_unweighted_expectation.ipynb": {"q2"},
        "mistake_weights_not_normalised.ipynb": {"q2"},
        "mistake_undertrained_policy.ipynb": {"q3"},
    },
}


def questions(exercise):
    return json.loads((REPO / "autograder" / exercise / "questions.json").read_text())["questions"]


def autograded(exercise):
    return {q["name"]: float(q["points"]) for q in questions(exercise) if q["kind"] == "auto"}


def expected_scores(exercise, file_name):
    lost = EXPECTED_LOSSES[exercise][file_name]
    return {
        name: 0.0 if lost == ALL or name in lost else points
        for name, points in autograded(exercise).items()
    }


def corpus_files(folder):
    return sorted(p.name for p in Path(folder).glob("*.ipynb"))


def test_the_table_covers_the_mistakes_the_exercises_promise():
    for exercise, table in EXPECTED_LOSSES.items():
        auto = set(autograded(exercise))
        for file_name, lost in table.items():
            assert lost == ALL or lost <= auto, (exercise, file_name)
            assert bool(lost) == file_name.startswith(("mistake_", "student_")), file_name
    gd, genz = EXPECTED_LOSSES["gradient_descent"], EXPECTED_LOSSES["genz_approximation"]
    for stem in (
        "sign_error",
        "stop_rule_off_by_one",
        "missing_1_over_m",
        "cost_without_half",
        "cost_before_update",
        "sum_over_batch",
        "last_partial_batch_dropped",
        "no_reshuffle",
        "empty_costs",
        "costs_column",
    ):
        assert f"mistake_{stem}.ipynb" in gd, stem
    for stem in (
        "product_peak_without_reciprocal",
        "corner_peak_exponent",
        "discontinuous_cut_on_all_coordinates",
        "unnormalised_params",
        "signed_errors",
        "rmse",
        "underfit_network",
        "predict_column",
    ):
        assert f"mistake_{stem}.ipynb" in genz, stem


@pytest.mark.parametrize("exercise", EXERCISES)
def test_committed_corpus_is_the_table(exercise):
    assert corpus_files(REPO / "tests" / "submissions" / exercise) == sorted(
        EXPECTED_LOSSES[exercise]
    ), "the corpus and EXPECTED_LOSSES disagree; run: python tools/make_submissions.py"


def test_committed_corpus_is_a_fresh_generation(assigned, tmp_path):
    """The generator, run as a command on a fresh ``otter assign``, writes the committed corpus."""
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "tools" / "make_submissions.py"),
            "--root",
            str(assigned),
            "--out",
            str(tmp_path),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for exercise in EXERCISES:
        fresh, committed = tmp_path / exercise, REPO / "tests" / "submissions" / exercise
        assert corpus_files(fresh) == corpus_files(committed), (
            "run: python tools/make_submissions.py"
        )
        for name in corpus_files(fresh):
            assert (fresh / name).read_text() == (committed / name).read_text(), (
                f"tests/submissions/{exercise}/{name} is stale; run: python tools/make_submissions.py"
            )


@pytest.mark.parametrize("exercise", EXERCISES)
def test_submissions_name_their_exercise(exercise):
    for file_name in corpus_files(REPO / "tests" / "submissions" / exercise):
        nb = nbformat.read(REPO / "tests" / "submissions" / exercise / file_name, as_version=4)
        assert nb.metadata["dlcourse"] == {"exercise": exercise}, file_name


def grade(folder, out, *extra):
    """``python -m autograder.grade`` on a folder: (rows by file, seconds)."""
    start = time.perf_counter()
    proc = run_grader(folder, out, *extra, timeout=3600)
    seconds = time.perf_counter() - start
    assert proc.returncode == 0, f"grading {folder} failed:\n{proc.stdout}\n{proc.stderr}"
    return read_sheet(out), seconds


@pytest.fixture(scope="module")
def grade_sheets(tmp_path_factory):
    """Grade each exercise's corpus once with the real grading command."""
    return {
        exercise: grade(
            REPO / "tests" / "submissions" / exercise,
            tmp_path_factory.mktemp(exercise) / "grades.csv",
        )
        for exercise in EXERCISES
    }


@pytest.mark.slow
@pytest.mark.parametrize("exercise", EXERCISES)
def test_every_submission_scores_what_the_table_says(grade_sheets, exercise):
    rows, seconds = grade_sheets[exercise]
    assert sorted(rows) == sorted(EXPECTED_LOSSES[exercise])
    problems = []
    for file_name, row in sorted(rows.items()):
        want = expected_scores(exercise, file_name)
        got = {name: float(row[name]) if row[name] else None for name in want}
        if row["status"] != "ok":
            problems.append(f"{file_name}: status {row['status']} ({row.get('reason', '')})")
        elif got != want:
            problems.append(f"{file_name}: expected {want}, got {got} ({row.get('reason', '')})")
        elif float(row["total"]) != sum(want.values()):
            problems.append(f"{file_name}: total {row['total']}, expected {sum(want.values())}")
    names = list(autograded(exercise))
    print(f"\n{exercise}: {len(rows)} submissions graded in {seconds:.0f} s")
    for file_name, row in sorted(rows.items()):
        print(
            f"  {file_name:<52} "
            + "  ".join(f"{q} {row[q]:>3}" for q in names)
            + f"  total {row['total']}"
        )
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------- the student side


def execute(nb, workdir, env_changes, timeout=600):
    """Run a notebook top to bottom as *Run All* does (errors do not stop it: we inspect them)."""
    # a student's Jupyter has neither the grader's flag nor the kit's KERAS_BACKEND (make
    # exports one): the notebook picks its backend itself, as it would there
    env = {k: v for k, v in os.environ.items() if k not in ("DLCOURSE_GRADING", "KERAS_BACKEND")}
    env.update(env_changes, PIP_DISABLE_PIP_VERSION_CHECK="1", TF_CPP_MIN_LOG_LEVEL="3")
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(workdir)}},
    )
    start = time.perf_counter()
    client.execute(env=env, cwd=str(workdir))
    return time.perf_counter() - start


def outputs(cell):
    """A code cell's printed text; errors become ``ERROR <name>: <value>`` lines."""
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type == "error":
            parts.append(f"ERROR {out.ename}: {out.evalue}\n")
    return "".join(parts)


def errors(nb):
    return [
        (i, outputs(c))
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and any(o.output_type == "error" for o in c.get("outputs", []))
    ]


def check_cells(nb):
    return [
        c for c in nb.cells if c.cell_type == "code" and re.fullmatch(r'check\("q\d+"\)', c.source)
    ]


def shrink_study(nb):
    """The Genz study and comparison at toy size (one d, two n, two networks), for speed."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = (
                cell.source.replace("STUDY_DIMS = [2, 5, 10]", "STUDY_DIMS = [2]")
                .replace("STUDY_SIZES = [10, 50, 100, 500]", "STUDY_SIZES = [10, 50]")
                .replace('    "2 x 64 relu, Adam"', '    # "2 x 64 relu, Adam"')
                .replace('    "2 x 64 tanh, SGD"', '    # "2 x 64 tanh, SGD"')
            )
    return nb


@pytest.mark.parametrize(
    "exercise",
    [
        "gradient_descent",
        pytest.param("genz_approximation", marks=pytest.mark.slow),
        pytest.param("euler_equation", marks=pytest.mark.slow),
    ],
)
def test_unmodified_notebook_runs_to_the_end(tmp_path, exercise):
    """Run All on the notebook as handed out, renamed: every check fails politely, nothing raises."""
    nb = nbformat.read(REPO / "exercises" / f"{exercise}.ipynb", as_version=4)
    seconds = execute(nb, tmp_path, {})
    assert not errors(nb), errors(nb)
    for cell in check_cells(nb):
        assert "public checks failed" in outputs(cell), outputs(cell)
    n_auto = len(autograded(exercise))
    assert (
        outputs(nb.cells[-1])
        .rstrip()
        .endswith(f"0 of {n_auto} questions pass their public checks.")
    ), outputs(nb.cells[-1])
    print(f"{exercise}: Run All of the unmodified notebook took {seconds:.1f} s")


def test_study_skips_itself_while_grading(tmp_path):
    nb = nbformat.read(
        REPO / "tests" / "submissions" / "genz_approximation" / "solution.ipynb", as_version=4
    )
    start = time.perf_counter()
    execute(nb, tmp_path, {"DLCOURSE_GRADING": "1"})
    assert not errors(nb), errors(nb)
    text = "".join(outputs(c) for c in nb.cells if c.cell_type == "code")
    assert (
        "the study is skipped while grading" in text
        and "the comparison is skipped while grading" in text
    )
    assert "public checks skipped while grading" in text
    assert time.perf_counter() - start < 120


def test_one_number_of_test_points():
    """The exercise measures errors on as many test points as the book's study."""
    from dlcourse.genz_study import StudyConfig

    nb = nbformat.read(REPO / "exercises" / "genz_approximation.ipynb", as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert f"N_TEST = {StudyConfig().n_test}  #" in code
    assert (
        f"def approximation_errors(predict, f, d, n_test={StudyConfig().n_test}, rng=None)" in code
    )
    hidden = (REPO / "autograder" / "genz_approximation" / "tests" / "q4.py").read_text()
    assert f"size=({StudyConfig().n_test}, 2)" in hidden


def colab_stand_in(root):
    """A folder for PYTHONPATH: ``google.colab`` exists, ``dlcourse`` and ``autograder`` do not."""
    # no google/__init__.py: "google" stays a namespace package, so google.protobuf (which
    # TensorFlow imports) still comes from site-packages, as on Colab
    (root / "google" / "colab").mkdir(parents=True)
    (root / "google" / "colab" / "__init__.py").write_text('"""Stand-in for Colab\'s module."""\n')
    # jax imports google.colab.output when google.colab is imported (its Colab debugger)
    (root / "google" / "colab" / "output.py").write_text(
        '"""Stand-in for Colab\'s output module."""\n'
    )
    for package in ("dlcourse", "autograder"):
        (root / package).mkdir()
        (root / package / "__init__.py").write_text(
            f'raise ImportError("{package} is not installed on Colab")\n'
        )
    return root


@pytest.mark.parametrize(
    "exercise", ["gradient_descent", pytest.param("genz_approximation", marks=pytest.mark.slow)]
)
def test_simulated_colab(tmp_path, exercise):
    """On Colab: install cell, public checks without a tests folder, then the downloaded .ipynb grades."""
    stand_in = colab_stand_in(tmp_path / "site")
    content = tmp_path / "content"  # Colab's working folder: no tests/, no repository
    content.mkdir()
    nb = shrink_study(
        nbformat.read(REPO / "tests" / "submissions" / exercise / "solution.ipynb", as_version=4)
    )
    nb.cells.append(
        nbformat.v4.new_code_cell(
            'import sys\nprint("probe", ON_COLAB, sorted(m for m in ("dlcourse", "autograder", "otter") if m in sys.modules))'
        )
    )
    seconds = execute(nb, content, {"PYTHONPATH": str(stand_in)})
    assert not errors(nb), errors(nb)
    assert outputs(nb.cells[-1]).strip() == "probe True []", outputs(nb.cells[-1])
    for cell in check_cells(nb):
        assert "public checks passed" in outputs(cell), outputs(cell)
    summary = outputs(nb.cells[-2])
    assert "4 of 4 questions pass their public checks." in summary, summary
    if exercise == "genz_approximation":
        assert any(
            o.output_type == "display_data" and "image/png" in o.data
            for c in nb.cells
            if c.cell_type == "code"
            for o in c.get("outputs", [])
        ), "the study plots"
        assert "2 x 64 tanh, Adam" in "".join(outputs(c) for c in nb.cells if c.cell_type == "code")
    print(f"{exercise}: simulated Colab Run All (study shrunk) took {seconds:.1f} s")

    # File > Download > Download .ipynb: the file may come back without our metadata
    nb.cells.pop()
    nb.metadata.pop("dlcourse", None)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    nbformat.write(nb, downloads / f"Copy of {exercise}.ipynb")
    rows, _ = grade(downloads, tmp_path / "grades.csv", "--exercise", exercise)
    (row,) = rows.values()
    assert row["status"] == "ok", row
    assert {q: float(row[q]) for q in autograded(exercise)} == autograded(exercise), row


def test_no_stale_generator_in_tests():
    """The corpus generator is a tool: the tests only run it as a command."""
    assert not (REPO / "tests" / "make_submissions.py").exists()
    assert "tools/make_submissions.py" in (REPO / "Makefile").read_text()


def test_every_exercise_page_launches_its_student_notebook():
    launch = site_extension("course_launch")
    assert sorted(launch.EXERCISE_NOTEBOOKS.values()) == sorted(
        f"exercises/{info.notebook}" for info in EXERCISES.values()
    )
    for page, notebook in launch.EXERCISE_NOTEBOOKS.items():
        text = (REPO / f"{page}.md").read_text()
        assert (REPO / notebook).exists() and f"../{notebook}>" in text, page
        assert "../exercises/requirements.txt>" in text, f"{page} links the students' requirements"
        assert f"file: {page}" in (REPO / "_toc.yml").read_text(), page


@pytest.mark.parametrize("interface", ["tree", "lab/tree"])
def test_launch_buttons_point_at_the_student_notebook(tmp_path, interface):
    """The buttons sphinx-book-theme makes for an exercise page, rewritten by the extension."""
    from types import SimpleNamespace

    launch = site_extension("course_launch")
    theme = {
        "repository_url": "https://github.com/someone/course",
        "repository_branch": "main",
        "path_to_docs": "",
        "launch_buttons": {
            "colab_url": "https://colab.research.google.com",
            "binderhub_url": "https://mybinder.org",
        },
    }
    app = SimpleNamespace(
        config=SimpleNamespace(html_theme_options=theme, course_colab_branch="notebooks"),
        outdir=str(tmp_path / "html"),
    )
    page = "book/exercise_genz"
    buttons = [
        {
            "text": "Binder",
            "url": f"https://mybinder.org/v2/gh/someone/course/main?urlpath={interface}/{page}.md",
        },
        {
            "text": "Colab",
            "url": f"https://colab.research.google.com/github/someone/course/blob/main/{page}.md",
        },
    ]
    context = {"header_buttons": [{"label": "launch-buttons", "buttons": buttons}]}
    launch._on_page(app, page, "page.html", context, None)
    assert (
        buttons[0]["url"]
        == f"https://mybinder.org/v2/gh/someone/course/main?urlpath={interface}/exercises/genz_approximation.ipynb"
    )
    assert (
        buttons[1]["url"]
        == "https://colab.research.google.com/github/someone/course/blob/main/exercises/genz_approximation.ipynb"
    )
    assert not (tmp_path / "colab").exists(), "no Colab copy of the statement page"
