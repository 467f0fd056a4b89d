"""Runs a student's notebook inside the sandbox and serves calls to its functions.

Started by the grader (see ``sandbox.py``) as ``python -s -B harness.py --in-fd R --out-fd W``
inside bubblewrap, next to ``channel.py``; neither file holds tests or solutions. Steps:

1. drop to the unprivileged uid/gid given on the command line (when started as root);
2. read the notebook's code cells from the channel (the grader sends them);
3. seed ``random`` and numpy, stub out otter (``grader.check``/``export`` do nothing), and
   make the packages the grader names unimportable (``UnavailableModules``);
4. execute the cells in order in one namespace, reporting each cell's error and going on;
5. report the namespace's public names and serve ``call``/``get`` requests until the
   grader closes the channel.

Student output goes to this process's stdout/stderr, which the grader caps; the channel
uses its own file descriptors.
"""

import argparse
import os
import re
import sys
import traceback
import types

HERE = os.path.dirname(os.path.abspath(__file__))


def drop_privileges(uid, gid):
    """Become ``uid``/``gid`` for good (no supplementary groups); refuse to stay root."""
    if os.getuid() == 0 and uid is not None:
        # The working directory is a fresh tmpfs made by root (bwrap): give it to the uid.
        os.chown(os.getcwd(), uid, gid)
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
    if uid is not None and (os.getuid() == 0 or os.geteuid() == 0):
        raise SystemExit("harness: refusing to run student code as root")


def otter_stub():
    """A module standing in for ``otter``: ``otter.Notebook(...)`` whose methods do nothing."""

    class Notebook:
        def __init__(self, *args, **kwargs):
            pass

        def __getattr__(self, name):
            return lambda *args, **kwargs: None

    module = types.ModuleType("otter")
    module.Notebook = Notebook
    module.__getattr__ = lambda name: Notebook
    return module


class UnavailableModules:
    """A ``sys.meta_path`` finder for which the named top-level modules are not installed:
    importing one (or a submodule) raises ModuleNotFoundError, as on a machine without it.
    The grader names packages that Keras would import on its own but the notebook never
    uses (see ``scoring.unavailable_modules``); a student who removes this only slows
    their own grading."""

    def __init__(self, names):
        self.names = frozenset(names)

    def find_spec(self, fullname, path=None, target=None):
        if fullname.partition(".")[0] in self.names:
            raise ModuleNotFoundError(
                f"No module named {fullname!r} (not installed where this notebook is graded)",
                name=fullname,
            )
        return None


_LINE_MAGIC = re.compile(r"^(\s*)(%|!)(.*)$")


def strip_magics(source):
    """Cell source with IPython magics and shell escapes replaced by ``pass``."""
    lines = source.split("\n")
    if lines and lines[0].lstrip().startswith("%%"):
        lines = lines[1:]
    return "\n".join(_LINE_MAGIC.sub(r"\1pass", line) for line in lines)


def describe_error(exc, filename):
    """``Type: message (cell line N)`` for an exception raised in a cell."""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == filename:
            line = frame.lineno
    if isinstance(exc, SyntaxError) and exc.filename == filename:
        line = exc.lineno
    where = f" (line {line})" if line else ""
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip().splitlines()
    return (text[-1] if text else type(exc).__name__)[:1000] + where


def seed_everything(seed, state):
    """Seed ``random`` and numpy now, and Keras once it has been imported."""
    import random

    import numpy as np

    if not state.get("basic"):
        random.seed(seed)
        np.random.seed(seed)
        state["basic"] = True
    keras = sys.modules.get("keras")
    if keras is not None and not state.get("keras"):
        try:
            keras.utils.set_random_seed(seed)
        except Exception:  # noqa: BLE001 - a broken keras is the student's business
            pass
        state["keras"] = True


def run_cells(cells, namespace, pipe, seed):
    """Execute each cell; send ``{"kind": "cell", "index", "error"}`` after each."""
    seeded = {}
    for index, source in enumerate(cells):
        filename = f"<cell {index + 1}>"
        error = None
        seed_everything(seed, seeded)
        try:
            code = compile(strip_magics(source), filename, "exec")
            exec(code, namespace)  # noqa: S102 - running the student's notebook is the point
        except BaseException as exc:  # noqa: BLE001 - SystemExit too: note it and go on
            error = describe_error(exc, filename)
        sys.stdout.flush()
        sys.stderr.flush()
        pipe.send({"kind": "cell", "index": index, "error": error})


def public_names(namespace, limit=2000):
    """``{name: {"kind": "callable"|"module"|"data", ...}}`` for the notebook's globals."""
    names = {}
    for name, value in list(namespace.items())[: limit * 4]:
        if name.startswith("_") or len(names) >= limit:
            continue
        if isinstance(value, types.ModuleType):
            names[name] = {"kind": "module", "module": str(getattr(value, "__name__", ""))[:200]}
        elif callable(value):
            names[name] = {"kind": "callable"}
        else:
            names[name] = {"kind": "data", "type": type(value).__name__[:100]}
    return names


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--in-fd", type=int, required=True)
    parser.add_argument("--out-fd", type=int, required=True)
    parser.add_argument("--uid", type=int)
    parser.add_argument("--gid", type=int)
    args = parser.parse_args(argv)

    drop_privileges(args.uid, args.gid)
    sys.path.insert(0, HERE)
    import channel  # noqa: E402 - after the privilege drop, from the harness's own folder

    sys.path.remove(HERE)
    sys.path[0:0] = [os.getcwd()]
    pipe = channel.Pipe(args.in_fd, args.out_fd)
    setup = pipe.recv()
    cells = [str(cell) for cell in setup.get("cells", [])]
    seed = int(setup.get("seed", 42))

    sys.modules["otter"] = otter_stub()
    unavailable = [str(name) for name in setup.get("unavailable", [])]
    if unavailable:
        sys.meta_path.insert(0, UnavailableModules(unavailable))
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    run_cells(cells, namespace, pipe, seed)

    peer = channel.Peer(pipe, resolve_name=namespace.get)
    pipe.send({"kind": "ready", "names": public_names(namespace)})
    while True:
        try:
            message = pipe.recv()
        except channel.ChannelClosed:
            break
        peer.serve_one(message)
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
