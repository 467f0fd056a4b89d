"""The sandbox's mount table: what the student's process can and cannot see."""
from autograder import sandbox


def mounts(cmd):
    """(option, source, target) for each bind in a bwrap command line, in order."""
    out = []
    for i, arg in enumerate(cmd):
        if arg in ("--bind", "--ro-bind", "--ro-bind-try"):
            out.append((arg, cmd[i + 1], cmd[i + 2]))
    return out


def test_environment_under_tmp_stays_visible(monkeypatch):
    # A CI clone may live under /tmp: its venv must be mounted after the student's /tmp.
    monkeypatch.setattr(sandbox, "python_roots", lambda: ["/tmp/ci-clone/.venv"])
    cmd = sandbox.bwrap_command("/scratch/sub1", {}, ["python"])
    targets = [target for _, _, target in mounts(cmd)]
    assert targets.index("/tmp") < targets.index("/tmp/ci-clone/.venv")


def test_only_environment_and_working_directory_are_mounted(monkeypatch):
    monkeypatch.setattr(sandbox, "python_roots", lambda: ["/work/course/.venv"])
    cmd = sandbox.bwrap_command("/scratch/sub1", {}, ["python"])
    sources = {source for _, source, _ in mounts(cmd)}
    assert "/work/course/.venv" in sources
    assert not any(s == "/work/course" or s.startswith("/work/course/autograder") for s in sources)
    assert ("--ro-bind", "/work/course/.venv", "/work/course/.venv") in mounts(cmd)
    assert "--unshare-net" in cmd
