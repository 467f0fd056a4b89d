# Two commands do everything on a fresh machine:  make book  and  make test.
# Both create .venv from requirements.txt first when it is missing or older.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# TensorFlow is the backend the lecture teaches; KERAS_BACKEND=jax make book also works.
export KERAS_BACKEND ?= tensorflow
export TF_CPP_MIN_LOG_LEVEL ?= 3
export PYTHONHASHSEED ?= 0

.PHONY: book test test-fast lint venv bench bench-genz bench-grading grade exercises gradescope clean clean-cache

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	@touch $(STAMP)

## Build the site into _build/html (chapters execute in parallel; unchanged ones come
## from the cache). Another backend builds into _build/<backend>/_build/html.
book: $(STAMP)
	$(BIN)/python tools/build.py

## Build-time benchmark: cold and cached, TensorFlow and JAX, against stock `jupyter-book
## build` of the same tree: table + _build/bench/build.json (removes the execution caches)
bench: $(STAMP)
	$(BIN)/python -m tools.bench.build_times

## Genz study benchmark: wall time per backend and stage, accuracy (_build/bench/genz.json)
bench-genz: $(STAMP)
	$(BIN)/python tools/bench/genz.py

## Grading benchmark: overhead against plain nbclient, 220 submissions (_build/bench/)
bench-grading: $(STAMP)
	$(BIN)/python -m tools.bench.grading

## Grade a folder of submissions: make grade SUBMISSIONS=<folder> OUT=<grades.csv>
## [EXERCISE=<name>] [UNSAFE_NO_ISOLATION=1] (refuses when no sandbox isolates submissions)
grade: $(STAMP)
	@test -n "$(SUBMISSIONS)" -a -n "$(OUT)" || { echo "usage: make grade SUBMISSIONS=<folder> OUT=<grades.csv> [EXERCISE=<name>] [UNSAFE_NO_ISOLATION=1]"; exit 2; }
	$(BIN)/python -m autograder.grade "$(SUBMISSIONS)" --out "$(OUT)" \
		$(if $(EXERCISE),--exercise "$(EXERCISE)") $(if $(UNSAFE_NO_ISOLATION),--unsafe-no-isolation)

## Regenerate the student notebooks and autograder tests from solutions/ (otter assign)
exercises: $(STAMP)
	$(BIN)/python -m autograder.assign
	$(BIN)/python tools/make_submissions.py

## Gradescope autograder zips: _build/gradescope/<exercise>.zip (upload one per assignment)
gradescope: $(STAMP)
	$(BIN)/python -m autograder.gradescope build --out-dir _build/gradescope

## Run the test suite (it builds the book too)
test: $(STAMP)
	$(BIN)/python -m pytest tests --durations=15

## The quick loop while editing: everything except book builds, end-to-end grading and
## training (markers slow and book), one worker per core (at most 4), the slowest listed
test-fast: $(STAMP)
	$(BIN)/python -m pytest tests -m "not slow and not book" -n auto --maxprocesses 4 --durations=10

## ruff: lint, and check the formatting (`ruff format .` applies it)
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf _build

clean-cache:
	rm -rf _build/.jupyter_cache _build/*/_build/.jupyter_cache _build/chapter_seconds.json \
		_build/*/_build/chapter_seconds.json
