"""A real Dask cluster on this machine for the tests: ``dask scheduler`` and ``dask worker`` processes, each worker
on a host of its own where the search's folder cannot be seen.

As root, each worker runs in a network namespace of its own (a veth pair on a bridge, 10.77.0.0/24; the
scheduler listens on the bridge's 10.77.0.1) and a mount namespace with an empty tmpfs over the temporary
folder (where every test's search folder lives, and where the worker's own temporary files go): the worker
shares no disk and no loopback with the search. Without root, the workers run on loopback, each in a user
and mount namespace with the same tmpfs. Where neither can be made, :func:`isolation` says why and the
tests that need it are skipped with that reason. Everything made is removed at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SUBNET = "10.77.0"


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False)


def isolation() -> tuple[str, str]:
    """How workers can be kept apart here: ("netns", ""), ("userns", ""), or ("", why not). (``Hosts`` also takes
    "local": plain processes on loopback, for tests that need no isolation.)"""
    if shutil.which("unshare") is None:
        return "", "unshare (util-linux) is not installed"
    if os.geteuid() == 0 and shutil.which("ip") is not None:
        probe = f"twprobe{os.getpid()}"
        made = _run("ip", "netns", "add", probe)
        _run("ip", "netns", "del", probe)
        if made.returncode == 0:
            return "netns", ""
    if _run("unshare", "--user", "--map-root-user", "--mount", "true").returncode == 0:
        return "userns", ""
    return "", "this machine allows neither network namespaces (root and iproute2) nor user namespaces"


def hidden_folders(searches: Path) -> list[str]:
    """What a worker must not see: the folder holding the tests' searches, and the temporary folder (its own
    temporary files then go to an empty disk of its own) unless the package itself is there."""
    temp = os.path.realpath(tempfile.gettempdir())
    folders = {os.path.realpath(searches)}
    if not str(ROOT).startswith(temp + os.sep) and not str(BIN).startswith(temp + os.sep):
        folders = {f for f in folders if not f.startswith(temp + os.sep)} | {temp}
    return sorted(folders)


@dataclass
class Hosts:
    """The scheduler and its workers; :meth:`close` removes every process, namespace and link."""

    kind: str
    searches: Path  # where the tests' search folders are (hidden from every worker)
    tag: str = field(default_factory=lambda: f"{os.getpid() % 100000}")
    scheduler: subprocess.Popen[bytes] | None = None
    address: str = ""
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    namespaces: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    logs: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="tw-cluster-logs-")))

    @property
    def bridge(self) -> str:
        return f"twbr{self.tag}"

    @property
    def scheduler_host(self) -> str:
        return f"{SUBNET}.1" if self.kind == "netns" else "127.0.0.1"

    def start_scheduler(self) -> str:
        if self.kind == "netns" and not self.links:
            self._sh("ip", "link", "add", self.bridge, "type", "bridge")
            self.links.append(self.bridge)
            self._sh("ip", "addr", "add", f"{SUBNET}.1/24", "dev", self.bridge)
            self._sh("ip", "link", "set", self.bridge, "up")
        file = self.logs / "scheduler.json"
        file.unlink(missing_ok=True)
        argv = [str(BIN / "dask"), "scheduler", "--host", self.scheduler_host, "--port", "0"]
        argv += ["--no-dashboard", "--scheduler-file", str(file)]
        self.scheduler = subprocess.Popen(argv, stdout=self._log("scheduler"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while not file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.address = json.loads(file.read_text())["address"]
        return self.address

    def stop_scheduler(self) -> None:
        if self.scheduler is not None:
            self.scheduler.kill()
            self.scheduler.wait()
            self.scheduler = None

    def start_worker(self, name: str, *, env: dict[str, str] | None = None, resources: str = "") -> None:
        """A ``dask worker`` (with its nanny) on a host of its own, connected to the scheduler."""
        host = "127.0.0.1"
        prefix: list[str] = []
        if self.kind == "netns":
            index = len(self.namespaces) + 10
            ns, host = f"tw{self.tag}{name}", f"{SUBNET}.{index}"
            outside, inside = f"twv{self.tag}{index}", f"twi{self.tag}{index}"
            self._sh("ip", "netns", "add", ns)
            self.namespaces.append(ns)
            self._sh("ip", "link", "add", outside, "type", "veth", "peer", "name", inside)
            self.links.append(outside)
            self._sh("ip", "link", "set", inside, "netns", ns)
            self._sh("ip", "link", "set", outside, "master", self.bridge)
            self._sh("ip", "link", "set", outside, "up")
            for argv in (
                ["ip", "addr", "add", f"{host}/24", "dev", inside],
                ["ip", "link", "set", inside, "up"],
                ["ip", "link", "set", "lo", "up"],
            ):
                self._sh("ip", "netns", "exec", ns, *argv)
            prefix = ["ip", "netns", "exec", ns, "unshare", "--mount", "--propagation", "private"]
        elif self.kind == "userns":
            prefix = ["unshare", "--user", "--map-root-user", "--mount", "--propagation", "private"]
        hidden = hidden_folders(self.searches) if prefix else []  # kind "local": a plain process on loopback
        hide = " && ".join(["true", *(f"mount -t tmpfs tw-worker-disk {folder}" for folder in hidden)])
        dask = [str(BIN / "dask"), "worker", self.address, "--name", name, "--nthreads", "1", "--host", host]
        dask += ["--no-dashboard", "--memory-limit", "0", "--death-timeout", "60"]
        if resources:
            dask += ["--resources", resources]
        script = f"{hide} && cd / && exec {' '.join(dask)}"
        environment = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3", **(env or {}))
        self.workers[name] = subprocess.Popen(
            [*prefix, "sh", "-c", script],
            stdout=self._log(name),
            stderr=subprocess.STDOUT,
            env=environment,
            start_new_session=True,
        )

    def wait_for_workers(self, count: int, timeout: float = 120) -> None:
        from distributed import Client

        with Client(self.address, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(count, timeout=timeout)

    def close(self) -> None:
        for process in self.workers.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        self.workers.clear()
        self.stop_scheduler()
        for ns in self.namespaces:
            _run("ip", "netns", "del", ns)
        for link in self.links:
            _run("ip", "link", "del", link)
        self.namespaces.clear()
        self.links.clear()

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.logs / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def _log(self, name: str):  # noqa: ANN202 - a file object for Popen
        return open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process's end

    @staticmethod
    def _sh(*argv: str) -> None:
        done = _run(*argv)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip()}")


def leftovers(tag: str) -> list[str]:
    """Namespaces or links of a test run still present (none may be, after close)."""
    names = _run("ip", "netns", "list").stdout.split() + _run("ip", "-o", "link", "show").stdout.split()
    return sorted({n.split("@")[0].rstrip(":") for n in names if tag in n and n.startswith("tw")})
