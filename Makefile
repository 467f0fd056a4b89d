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

.PHONY: book test venv bench bench-genz bench-grading grade exercises clean clean-cache

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

## Build-time benchmark (cold and cached, TensorFlow and JAX): table + _build/bench/build.json
bench: $(STAMP)
	$(BIN)/python tools/bench_build.py

## Genz study benchmark: wall time per backend and stage, accuracy (_build/bench/genz.json)
bench-genz: $(STAMP)
	$(BIN)/python tools/bench_genz.py

## Grading benchmark: overhead against plain nbclient, 220 submissions (_build/bench/)
bench-grading: $(STAMP)
	$(BIN)/python tools/bench_grading.py --exercise gradient_descent --count 220

## Grade a folder of submissions: make grade SUBMISSIONS=<folder> OUT=<grades.csv>
grade: $(STAMP)
	@test -n "$(SUBMISSIONS)" -a -n "$(OUT)" || { echo "usage: make grade SUBMISSIONS=<folder> OUT=<grades.csv>"; exit 2; }
	$(BIN)/python -m autograder.grade "$(SUBMISSIONS)" --out "$(OUT)"

## Regenerate the student notebooks and autograder tests from solutions/ (otter assign)
exercises: $(STAMP)
	$(BIN)/python -m autograder.assign
	$(BIN)/python tests/make_submissions.py

## Run the test suite (it builds the book too)
test: $(STAMP)
	$(BIN)/python -m pytest tests

clean:
	rm -rf _build

clean-cache:
	rm -rf _build/.jupyter_cache _build/*/_build/.jupyter_cache
