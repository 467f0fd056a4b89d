"""The per-submission cgroup's files, on a fake cgroupfs (v1 and v2 layouts)."""

import os

import pytest

from autograder import cgroup


@pytest.fixture
def fake_root(tmp_path, monkeypatch):
    monkeypatch.setattr(cgroup, "ROOT", str(tmp_path))
    monkeypatch.setattr(cgroup, "_own_path", lambda controller: "/")
    monkeypatch.setattr(cgroup.Cgroup, "kill_all", lambda self, timeout=10.0: True)
    return tmp_path


def read(path):
    with open(path) as f:
        return f.read()


def test_v2_limits_memory_swap_pids_and_cpu(fake_root):
    (fake_root / "cgroup.controllers").write_text("cpu memory pids\n")
    (fake_root / "cgroup.subtree_control").write_text("")
    group = cgroup.Cgroup(512 << 20, 256, cpus=1.0)
    (path,) = group.dirs.values()
    assert group.version == 2 and os.path.basename(path).startswith(f"dlgrade-{os.getpid()}-")
    assert read(os.path.join(path, "memory.max")) == str(512 << 20)
    assert read(os.path.join(path, "pids.max")) == "256"
    assert read(os.path.join(path, "cpu.max")) == "100000 100000"
    assert group.procs_files == [os.path.join(path, "cgroup.procs")]
    assert not group.oom_killed()
    with open(os.path.join(path, "memory.events"), "w") as f:
        f.write("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    assert group.oom_killed()
    for name in os.listdir(path):  # a real cgroupfs empties itself; the fake needs help
        os.remove(os.path.join(path, name))
    group.remove()
    assert not os.path.exists(path)


def test_v1_limits_memory_with_memsw_pids_and_cpu(fake_root):
    for controller in cgroup.V1_CONTROLLERS:
        (fake_root / controller).mkdir()
    group = cgroup.Cgroup(1 << 30, 128, cpus=0.5)
    assert group.version == 1 and set(group.dirs) == set(cgroup.V1_CONTROLLERS)
    mem, pids, cpu = (group.dirs[c] for c in cgroup.V1_CONTROLLERS)
    assert read(os.path.join(mem, "memory.limit_in_bytes")) == str(1 << 30)
    assert read(os.path.join(pids, "pids.max")) == "128"
    assert read(os.path.join(cpu, "cpu.cfs_quota_us")) == "50000"
    with open(os.path.join(mem, "memory.oom_control"), "w") as f:
        f.write("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
    assert group.oom_killed()


def test_no_hierarchy_is_an_error_not_a_crash(fake_root):
    with pytest.raises(cgroup.CgroupError):
        cgroup.Cgroup(1 << 30, 16)
    assert not cgroup.available()


@pytest.mark.skipif(os.getuid() != 0 or not cgroup.available(), reason="needs root and cgroups")
def test_a_real_group_is_made_and_removed():
    group = cgroup.Cgroup(64 << 20, 16)
    paths = list(group.dirs.values())
    assert all(os.path.isdir(p) for p in paths)
    group.remove()
    assert not any(os.path.exists(p) for p in paths)
