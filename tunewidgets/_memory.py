"""Resident memory of a process and of its children (Linux ``/proc``; 0 elsewhere).

Used by workers (to decide when to retire), by the benchmarks and by the notebook tests
(a search's memory is the kernel's plus its worker processes').
"""

from __future__ import annotations

import os
import threading


def rss_mb(pid: int | str = "self") -> float:
    """Resident memory of one process, MB."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def available_mb() -> float:
    """Memory this process's container (cgroup) or machine can still give, MB; inf where unknown."""
    left = [_meminfo_available_mb()]
    for limit_file, usage_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),  # cgroup v2
        ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"),  # v1
    ):
        try:
            with open(limit_file) as f:
                limit = f.read().strip()
            with open(usage_file) as f:
                usage = int(f.read().strip())
        except (OSError, ValueError):
            continue
        if limit.isdigit() and int(limit) < 1 << 60:  # "max" or a huge number: no limit
            left.append((int(limit) - usage) / 2**20)
        break
    return min(left)


def total_mb() -> float:
    """Memory this process's container (cgroup) or machine has in all, MB; inf where unknown."""
    total = [_meminfo_mb("MemTotal:")]
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(limit_file) as f:
                limit = f.read().strip()
        except OSError:
            continue
        if limit.isdigit() and int(limit) < 1 << 60:
            total.append(int(limit) / 2**20)
        break
    return min(total)


def _meminfo_mb(key: str) -> float:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return float("inf")


def _meminfo_available_mb() -> float:
    return _meminfo_mb("MemAvailable:")


def children(pid: int) -> list[int]:
    """Direct children of a process."""
    out: list[int] = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return out
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid:
            out.append(int(entry))
    return out


def tree_rss_mb(pid: int | None = None) -> float:
    """A process and its direct children together (a search: the caller and its workers), MB."""
    pid = os.getpid() if pid is None else pid
    return rss_mb(pid) + sum(rss_mb(child) for child in children(pid))


class PeakSampler:
    """Samples :func:`tree_rss_mb` of this process on a daemon thread; ``peak_mb`` is the highest seen.

    ``child_peak_mb`` is the highest any one child (a worker) reached.
    """

    def __init__(self, interval: float = 0.1):
        self.peak_mb = 0.0
        self.child_peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), name="tunewidgets:memory", daemon=True)
        self._thread.start()

    def _run(self, interval: float) -> None:
        while not self._stop.wait(interval):
            self._sample()

    def _sample(self) -> None:
        pid = os.getpid()
        workers = [rss_mb(child) for child in children(pid)]
        self.peak_mb = max(self.peak_mb, rss_mb(pid) + sum(workers))
        self.child_peak_mb = max([self.child_peak_mb, *workers])

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        self._sample()
        return self.peak_mb
