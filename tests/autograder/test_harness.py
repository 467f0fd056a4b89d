"""The harness's own steps, run in this process (the sandbox around it is tested end to end
in tests/test_grade_sandbox.py)."""

import importlib
import sys
import types

import pytest

from autograder import harness


@pytest.mark.parametrize(
    "source, expected",
    [
        ("%matplotlib inline\nx = 1", "pass\nx = 1"),
        ("!pip install keras\nx = 1", "pass\nx = 1"),
        ("if True:\n    %time y = 2\n    !ls", "if True:\n    pass\n    pass"),
        ("%%timeit\nx = 1\n%who", "x = 1\npass"),
        ("x = 5 % 3\ny = '%d' % x", "x = 5 % 3\ny = '%d' % x"),  # the operator stays
    ],
)
def test_strip_magics_replaces_magics_and_shell_escapes_with_pass(source, expected):
    assert harness.strip_magics(source) == expected
    compile(harness.strip_magics(source), "<cell>", "exec")


def test_public_names_say_what_each_global_is_and_skip_private_ones():
    namespace = {
        "np": types.ModuleType("numpy"),
        "fit": lambda x: x,
        "Model": type("Model", (), {}),
        "theta": [1.0, 2.0],
        "_hidden": 3,
        "__builtins__": {},
    }
    assert harness.public_names(namespace) == {
        "np": {"kind": "module", "module": "numpy"},
        "fit": {"kind": "callable"},
        "Model": {"kind": "callable"},
        "theta": {"kind": "data", "type": "list"},
    }


def test_public_names_are_capped():
    namespace = {f"v{i}": i for i in range(50)}
    assert len(harness.public_names(namespace, limit=10)) == 10


def test_unavailable_modules_cannot_be_imported_and_others_can(monkeypatch):
    finder = harness.UnavailableModules(["json", "fake_keras_extra"])
    monkeypatch.setattr(sys, "meta_path", [finder, *sys.meta_path])
    for name in ("json", "json.decoder", "fake_keras_extra.sub"):
        monkeypatch.delitem(sys.modules, name, raising=False)
        with pytest.raises(ModuleNotFoundError, match="not installed where this notebook"):
            importlib.import_module(name)
    # keras's optional imports are `try: import x / except ImportError`: they see "absent"
    try:
        import fake_keras_extra  # noqa: F401
    except ImportError:
        absent = True
    assert absent
    assert importlib.import_module("csv").__name__ == "csv"


def test_describe_error_names_the_cell_line():
    source = "x = 1\ny = undefined_name\n"
    try:
        exec(compile(source, "<cell 3>", "exec"), {})
    except NameError as exc:
        text = harness.describe_error(exc, "<cell 3>")
    assert text == "NameError: name 'undefined_name' is not defined (line 2)"
