"""A seccomp filter for the student's process: system calls a notebook never needs fail.

Blocked (``EPERM``): new namespaces (``unshare``, ``setns``, namespace flags of ``clone``),
mounting, kernel keyrings, BPF, perf events, ``userfaultfd``, ``ptrace`` and reading
other processes' memory, ``io_uring``, module loading, ``kexec``, reboot, swap, accounting,
quotas, the kernel log and file handles. ``clone3`` fails with ``ENOSYS`` because a filter
cannot look inside its argument struct; the C library then falls back to ``clone``,
whose flags the filter does see. Everything else is allowed: the filter cuts the kernel
surface an attacker could use, the namespaces and limits (``sandbox.py``) do the rest.

Built with libseccomp through ``pyseccomp`` (ctypes bindings that follow libseccomp's
own Python API) and compiled once to classic BPF, which bubblewrap loads with
``--seccomp FD`` before it starts the harness. Where libseccomp is missing the sandbox
runs without the filter and :func:`unavailable_reason` says why.
"""

import errno
import functools
import os
import tempfile

BLOCKED = (
    "unshare",
    "setns",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    "keyctl",
    "add_key",
    "request_key",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kcmp",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "quotactl",
    "syslog",
    "lookup_dcookie",
    "open_by_handle_at",
    "name_to_handle_at",
    "iopl",
    "ioperm",
)
"""System calls that fail with EPERM inside the sandbox."""

CLONE_NAMESPACE_FLAGS = (
    0x00020000,
    0x02000000,
    0x04000000,
    0x08000000,
    0x10000000,
    0x20000000,
    0x40000000,
)
"""CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET."""


def _build():
    import pyseccomp  # noqa: PLC0415 - optional: the grader works (less hardened) without

    rules = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
    for name in BLOCKED:
        try:
            rules.add_rule(pyseccomp.ERRNO(errno.EPERM), name)
        except (OSError, ValueError, RuntimeError):
            pass  # not a system call on this architecture
    for flag in CLONE_NAMESPACE_FLAGS:
        rules.add_rule(
            pyseccomp.ERRNO(errno.EPERM), "clone", pyseccomp.Arg(0, pyseccomp.MASKED_EQ, flag, flag)
        )
    try:
        rules.add_rule(pyseccomp.ERRNO(errno.ENOSYS), "clone3")
    except (OSError, ValueError, RuntimeError):
        pass
    return rules


@functools.lru_cache(maxsize=1)
def _compiled():
    """``(bpf bytes, None)`` or ``(None, reason)``."""
    try:
        rules = _build()
        with tempfile.TemporaryFile() as out:
            rules.export_bpf(out)
            out.seek(0)
            return out.read(), None
    except (ImportError, OSError, AttributeError, RuntimeError) as exc:
        return None, f"no seccomp filter ({type(exc).__name__}: {exc})"


def bpf():
    """The compiled filter (classic BPF, for ``bwrap --seccomp``), or None."""
    return _compiled()[0]


def unavailable_reason():
    """None when the filter can be built, else why not."""
    return _compiled()[1]


def bpf_fd():
    """A readable file descriptor positioned at the start of the filter, or None.

    The caller passes it to bwrap (``pass_fds``) and closes it after the start.
    """
    data = bpf()
    if data is None:
        return None
    fd = os.memfd_create("dlgrade-seccomp", 0)
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def load_here():
    """Load the filter into the calling process (setuid mode, between fork and exec)."""
    _build().load()
