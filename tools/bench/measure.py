"""Wall time and peak memory of a command's whole process tree (for the benchmarks)."""

from __future__ import annotations

import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil


def tree_memory(proc: psutil.Process) -> int:
    """Memory of a process and all its descendants, in bytes: the sum of their proportional
    set sizes (PSS), so that pages forked processes share count once, not once per
    process as resident sizes would (the build's chapter kernels are forks of a worker).
    Resident size where the system reports no PSS."""
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            try:
                info = p.memory_full_info()
            except psutil.AccessDenied:  # another user's process: only its resident size
                info = p.memory_info()
            total += getattr(info, "pss", info.rss)
        except psutil.Error:  # gone meanwhile
            pass
    return total


@dataclass
class Measured:
    seconds: float
    peak_mib: float
    returncode: int
    output_tail: str


def run_measured(cmd: list[str], env: dict[str, str], cwd: Path, interval: float = 0.2) -> Measured:
    """Run cmd, sampling the memory of its process tree every `interval` seconds."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        ps = psutil.Process(proc.pid)
        while not done.is_set():
            try:
                peak = max(peak, tree_memory(ps))
            except psutil.Error:
                break
            time.sleep(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    done.set()
    sampler.join()
    return Measured(time.perf_counter() - start, peak / 2**20, proc.returncode, out[-3000:])
