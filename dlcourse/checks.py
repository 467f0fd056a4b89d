"""The public checks of a student notebook: ``check("q1")`` and ``check_all()``.

``python -m autograder.assign`` copies this file, together with the source of every public
test, into the first code cell of each student notebook, so the checks need neither this
package nor otter nor a tests folder nor the notebook's file name (none of which exist on
Colab or in a renamed copy), which is why otter's own check function is not used.

A check binds each parameter of a test function by name: ``np``/``numpy``/``math`` are the
modules, every other name is the notebook's global of that name (the grader binds the
same names to the student's functions). A failed check prints which case failed and never
raises, so *Run All* on an unfinished notebook reaches the end. While the autograder runs
the notebook (``DLCOURSE_GRADING=1``) checks are skipped: the grader runs them itself.
"""

import math as _math
import os as _os

import numpy as _np


class PublicChecks:
    """Runs the public test functions of each question against a notebook's globals."""

    def __init__(self, tests, namespace):
        self.tests = tests  # question -> list of test function sources
        self.namespace = namespace  # the notebook's globals()

    def _functions(self, question):
        functions = []
        for source in self.tests[question]:
            scope = {}
            exec(compile(source, f"<public check of {question}>", "exec"), scope)  # noqa: S102
            functions += [value for name, value in scope.items() if name.startswith("test_")]
        return functions

    def _arguments(self, function):
        import inspect

        ours = {"np": _np, "numpy": _np, "math": _math}
        kwargs, missing = {}, []
        for name in inspect.signature(function).parameters:
            if name in ours:
                kwargs[name] = ours[name]
            elif name in self.namespace:
                kwargs[name] = self.namespace[name]
            else:
                missing.append(name)
        return kwargs, missing

    def run(self, question):
        """``[(check name, None or failure message)]`` for one question."""
        results = []
        for function in self._functions(question):
            kwargs, missing = self._arguments(function)
            if missing:
                results.append(
                    (
                        function.__name__,
                        "not defined yet: "
                        + ", ".join(missing)
                        + " (run the cell that defines it)",
                    )
                )
                continue
            try:
                with _np.errstate(all="ignore"):
                    function(**kwargs)
            except Exception as exc:  # noqa: BLE001 - any exception is a failed check
                message = str(exc).strip() or "(no message)"
                if not isinstance(exc, AssertionError):
                    message = f"{type(exc).__name__}: {message}"
                if "NoneType" in message:
                    message += " (does a function still return None because it is unfinished?)"
                results.append((function.__name__, message))
            else:
                results.append((function.__name__, None))
        return results

    def __call__(self, question):
        """Run and print the public checks of ``question`` (e.g. ``"q1"``)."""
        if question not in self.tests:
            print(f"unknown question {question!r}; the questions are {', '.join(self.tests)}")
            return False
        if _os.environ.get("DLCOURSE_GRADING") == "1":
            print(f"{question}: public checks skipped while grading (the grader runs them)")
            return True
        results = self.run(question)
        failed = [(name, message) for name, message in results if message is not None]
        if not failed:
            print(
                f"{question}: all {len(results)} public checks passed "
                "(the grader also runs hidden checks on other inputs)"
            )
        else:
            print(
                f"{question}: {len(failed)} of {len(results)} public checks failed "
                "(the question scores 0 until all pass)"
            )
            for name, message in failed:
                print(f"  {name}: {message}")
        return not failed

    def all(self):
        """Run every question's public checks; ``True`` when all pass."""
        outcomes = [self(question) for question in self.tests]
        print(f"\n{sum(outcomes)} of {len(outcomes)} questions pass their public checks.")
        return all(outcomes)
