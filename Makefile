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

.PHONY: book test venv clean clean-cache

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	@touch $(STAMP)

## Build the site into _build/html (chapters execute; unchanged ones come from the cache)
book: $(STAMP)
	$(BIN)/jupyter-book build . --warningiserror --nitpick --keep-going

## Run the test suite (it builds the book too)
test: $(STAMP)
	$(BIN)/python -m pytest tests

clean:
	rm -rf _build

clean-cache:
	rm -rf _build/.jupyter_cache
