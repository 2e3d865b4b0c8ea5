"""Memory: resident memory of a process and of its children, and what the session has left (Linux ``/proc`` and
``/sys/fs/cgroup``; 0 or inf elsewhere).

Used by workers (to decide when to retire, and when a waiting one gives its memory back), by the dashboard (to
say before Run that memory is short, and what holds it), by the benchmarks and by the notebook tests (a search's
memory is the kernel's plus its worker processes').

The session's memory is its own cgroup's (``/proc/self/cgroup``: a Binder session's 2 GB, which every kernel of
its Jupyter server shares), bound by every cgroup above it too. Its use leaves out the page cache the kernel can
drop (``inactive_file``), as the kernel's OOM killer and ``docker stats`` do.
"""

from __future__ import annotations

import os
import re
import select
import threading
import time
from dataclasses import dataclass
from pathlib import Path

#: Where Linux shows processes and cgroups (a test points them at a fake tree).
PROC = "/proc"
CGROUP_ROOT = "/sys/fs/cgroup"

#: Memory pressure (PSI ``some avg10``: the share of the last 10 s in which some process waited for memory, in %)
#: above which memory is short whatever is left: the session is already dropping its page cache or swapping.
PRESSURE_SHORT = 10.0

_NO_LIMIT = 1 << 60  # a larger limit is none (cgroup v1 writes 2**63 rounded down to a page; v2 writes "max")
_MB = 2**20
#: cgroup version -> its limit, use and dropped page cache (a memory.stat key, counted over the cgroups below)
_FILES = {
    1: ("memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file"),
    2: ("memory.max", "memory.current", "inactive_file"),
}


def rss_mb(pid: int | str = "self") -> float:
    """Resident memory of one process, MB."""
    for line in _read(f"{PROC}/{pid}/status").splitlines():
        if line.startswith("VmRSS"):
            try:
                return int(line.split()[1]) / 1024
            except (ValueError, IndexError):
                break
    return 0.0


def available_mb() -> float:
    """Memory this process's session (its cgroup and those above it) or machine can still give, MB; inf where
    unknown."""
    return _reading()[1]


def total_mb() -> float:
    """Memory this process's session (its cgroup and those above it) or machine has in all, MB; inf where unknown."""
    return _reading()[0]


def pressure() -> float | None:
    """Memory pressure, PSI ``some avg10`` (%): this process's cgroup's (cgroup v2), else the machine's
    (``/proc/pressure/memory``; cgroup v1 has none per cgroup); None where Linux keeps none."""
    group = _cgroup()
    own = [group.dirs[0] / "memory.pressure"] if group.version == 2 else []
    for path in (*own, Path(PROC, "pressure", "memory")):
        for line in _read(path).splitlines():
            if line.startswith("some "):
                fields = dict(f.partition("=")[::2] for f in line.split()[1:])
                try:
                    return float(fields["avg10"])
                except (KeyError, ValueError):
                    break
    return None


#: How to give the session's memory back, said after :func:`memory_short`'s sentence (JupyterLab's and Notebook 7's
#: menus).
FREE_MEMORY = (
    "To free it: close the notebooks you finished (File > Close and Shut Down Notebook), or shut every kernel "
    "down, this one too (Kernel > Shut Down All Kernels...), and run this notebook again."
)


@dataclass(frozen=True)
class SessionProcess:
    """One process of the session: ``kind`` is "kernel" (a Jupyter kernel, ``kernel_id`` from its connection
    file ``kernel-<id>.json``), "worker" (a tunewidgets worker: ``python -m tunewidgets.engine.worker``), "helper"
    (tunewidgets' scikit-learn helper, :mod:`.sklearn_helper`) or "other"."""

    pid: int
    rss_mb: float
    kind: str = "other"
    kernel_id: str = ""
    command: str = ""


def session_processes() -> list[SessionProcess]:
    """The processes of this process's cgroup (those that share its memory), largest first; where that cannot
    be read, this process and its children."""
    listed = _read(_cgroup().dirs[0] / "cgroup.procs").split()
    pids = {int(p) for p in listed if p.isdigit()} or {os.getpid(), *children(os.getpid())}
    found = [_process(pid) for pid in pids]
    return sorted((p for p in found if p is not None), key=lambda p: -p.rss_mb)


def memory_short(need_mb: float) -> str | None:
    """None while the session has ``need_mb`` left and is not under memory pressure (:data:`PRESSURE_SHORT`);
    else a sentence for people: what the session has in all, what is left, and what holds it."""
    total, left = _reading()
    stalled = pressure()
    pressed = stalled is not None and stalled > PRESSURE_SHORT
    if left >= need_mb and not pressed:
        return None
    has = f"this session has {_size(total)} of memory in all and " if total < float("inf") else "this session has "
    text = f"Memory is short: {has}{_size(left)} left"
    text += f" (about {_size(need_mb)} needed)" if need_mb > left else ""
    if pressed:
        text += f"; its processes waited for memory {stalled:.0f}% of the last 10 s"
    holders = _holders(session_processes())
    return f"{text}. {holders}." if holders else f"{text}."


def wait_for_input(fd: int, seconds: float, parent: int | None, need_mb: float, every: float) -> tuple[bool, str]:
    """How a process that waits for work gives its memory back: waits until ``fd`` has input, ``(True, "")``;
    ``(False, "")`` when ``seconds`` ran out or its parent (``parent``'s pid; None: not looked at) went away;
    ``(False, why)`` when the session's memory is short for ``need_mb`` (:func:`memory_short`'s sentence, looked
    at every ``every`` s while nothing has arrived). Input already there is taken even then: work handed over
    is done."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if parent is not None and os.getppid() != parent:
            return False, ""
        if select.select([fd], [], [], min(every, left))[0]:
            return True, ""
        short = memory_short(need_mb)
        if short is not None and not select.select([fd], [], [], 0)[0]:
            return False, short
    return False, ""


def _holders(processes: list[SessionProcess]) -> str:
    """What holds the session's memory: the other notebooks' kernels, this one, the workers, the rest."""
    mine = {os.getpid(), os.getppid()}  # a worker's parent is its notebook's kernel
    kernels = [p for p in processes if p.kind == "kernel" and p.pid not in mine]
    parts = []
    if kernels:
        n = len(kernels)
        whose = "1 other notebook's kernel holds" if n == 1 else f"{n} other notebooks' kernels hold"
        parts.append(f"{whose} {_size(sum(p.rss_mb for p in kernels))}")
    this = [p for p in processes if p.kind == "kernel" and p.pid in mine]
    if this:
        parts.append(f"this notebook's kernel {_size(this[0].rss_mb)}")
    workers = [p for p in processes if p.kind == "worker"]
    if workers:
        n = len(workers)
        parts.append(f"{n} tunewidgets worker{'s' if n > 1 else ''} {_size(sum(p.rss_mb for p in workers))}")
    helpers = [p for p in processes if p.kind == "helper"]
    if helpers:  # (one per kernel that showed a dashboard, for two minutes after its last use)
        n = len(helpers)
        what = "tunewidgets' scikit-learn helper" if n == 1 else f"{n} scikit-learn helpers of tunewidgets"
        parts.append(f"{what} {_size(sum(p.rss_mb for p in helpers))}")
    rest = sum(p.rss_mb for p in processes if p.kind == "other")
    if rest >= 1 and parts:
        parts.append(f"other processes {_size(rest)}")
    text = ", ".join(parts)
    return text[:1].upper() + text[1:]


def _size(mb: float) -> str:
    return f"{mb / 1024:.1f} GB" if mb >= 1024 else f"{max(mb, 0):.0f} MB"


@dataclass(frozen=True)
class _Cgroup:
    version: int
    dirs: tuple[Path, ...]  # this process's memory cgroup, then each one above it, up to its hierarchy's root


def _cgroup() -> _Cgroup:
    """This process's memory cgroup, from ``/proc/self/cgroup``: cgroup v1's ``N:...memory...:/path`` line, or
    v2's ``0::/path``; the root's where neither can be read."""
    unified = None
    for line in _read(f"{PROC}/self/cgroup").splitlines():
        number, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        if "memory" in controllers.split(","):
            return _walk(1, Path(CGROUP_ROOT, "memory"), path)
        if number == "0" and not controllers:
            unified = path
    if unified is not None:
        return _walk(2, Path(CGROUP_ROOT), unified)
    root = Path(CGROUP_ROOT)
    return _Cgroup(2, (root,)) if (root / "memory.max").exists() else _Cgroup(1, (root / "memory",))


def _walk(version: int, root: Path, path: str) -> _Cgroup:
    own = root / path.strip("/")
    if not own.is_dir():  # a path outside this cgroup namespace: the container's own cgroup is mounted as the root
        own = root
    dirs = [own]
    while root in dirs[-1].parents:
        dirs.append(dirs[-1].parent)
    return _Cgroup(version, tuple(dirs))


def _reading() -> tuple[float, float]:
    """(total, available) MB: the smallest limit of this process's cgroup and those above it, and the least
    any of them has left; the machine's (``/proc/meminfo``) where smaller or no cgroup limits it."""
    group = _cgroup()
    limit_file, usage_file, cache_key = _FILES[group.version]
    total, left = _meminfo_mb("MemTotal:"), _meminfo_available_mb()
    for directory in group.dirs:
        limit = _number(directory / limit_file)
        if limit is None or limit >= _NO_LIMIT:
            continue
        total = min(total, limit / _MB)
        usage = _number(directory / usage_file)
        if usage is not None:
            usage -= min(_stat(directory / "memory.stat", cache_key), usage)
            left = min(left, (limit - usage) / _MB)
    return total, left


#: The processes tunewidgets starts, by the module they run (``python -m MODULE``), and their kind.
_TUNEWIDGETS_PROCESSES = {"tunewidgets.engine.worker": "worker", "tunewidgets.sklearn_helper": "helper"}


def _process(pid: int) -> SessionProcess | None:
    try:
        with open(f"{PROC}/{pid}/cmdline", "rb") as f:
            args = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return None  # it ended
    command = " ".join(args)
    kind, kernel_id = "other", ""
    modules = [b for a, b in zip(args, args[1:], strict=False) if a == "-m"]
    ours = [_TUNEWIDGETS_PROCESSES[m] for m in modules if m in _TUNEWIDGETS_PROCESSES]
    if ours:
        kind = ours[0]
    elif any("ipykernel" in a for a in args):  # python -m ipykernel_launcher -f .../kernel-<id>.json
        kind = "kernel"
        found = re.search(r"kernel-([^/\s]+)\.json", command)
        kernel_id = found.group(1) if found else ""
    return SessionProcess(pid, rss_mb(pid), kind, kernel_id, command[:200])


def _read(path: str | Path) -> str:
    try:
        with open(path) as f:
            return f.read()
    except (OSError, UnicodeDecodeError):
        return ""


def _number(path: Path) -> int | None:
    text = _read(path).strip()
    return int(text) if text.isdigit() else None


def _stat(path: Path, key: str) -> int:
    for line in _read(path).splitlines():
        name, _, value = line.partition(" ")
        if name == key and value.strip().isdigit():
            return int(value)
    return 0


def _meminfo_mb(key: str) -> float:
    for line in _read(f"{PROC}/meminfo").splitlines():
        if line.startswith(key):
            try:
                return int(line.split()[1]) / 1024
            except (ValueError, IndexError):
                break
    return float("inf")


def _meminfo_available_mb() -> float:
    return _meminfo_mb("MemAvailable:")


def children(pid: int) -> list[int]:
    """Direct children of a process."""
    out: list[int] = []
    try:
        entries = os.listdir(PROC)
    except OSError:
        return out
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            ppid = int(_read(f"{PROC}/{entry}/stat").rsplit(")", 1)[1].split()[1])
        except (ValueError, IndexError):
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
