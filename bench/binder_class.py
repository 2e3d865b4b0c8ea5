"""A class on Binder: the nine notebooks, one after another, every kernel left running, in one 2 GB session.

What a student's Binder launch does, on this machine: the environment built from ``binder/`` as repo2docker builds it
(a fresh virtual environment, ``binder/requirements.txt`` with its constraints, then ``binder/postBuild``, in a copy
of the repository that is the session's home), JupyterLab started through ``binder/start`` inside a memory cgroup of 2
GiB (cgroup v1 or v2; run as root) with ``MEM_LIMIT`` set as Binder sets it, then notebooks 01 to 09 (``--all``: 10
too) opened as a student opens them (a session each, through Jupyter Server's REST API) and run cell by cell over the
kernel's websocket at their own budgets. No kernel is shut down. Afterwards: was any process of the session killed by
the OOM killer, did any kernel die or restart, did any cell take longer than ``--cell-limit`` seconds, did any cell
fail or print a TensorFlow start-up warning.

Printed and written (``--json``): the session's peak memory, each kernel's resident memory after its notebook
and at the end, the session's memory after each notebook, each notebook's time and longest cell.

    python bench/binder_class.py --check --json bench/results/binder_class.json

``--check`` exits 1 when a check fails (what ``.ci/run`` calls). ``--env DIR`` keeps the built environment
there and reuses it when it is already built.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ALL_NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
#: The class: notebooks 01 to 09. Notebook 10 trains keras-tuner's own search in its kernel (TensorFlow there,
#: about 400 MB of its own) and then a search in a worker: with nine kernels open it does not fit in 2 GB
#: (measured: its kernel was killed for memory), so it runs only with ``--all``; it says so to Binder users.
CLASS = [n for n in ALL_NOTEBOOKS if n.name[:2] <= "09"]
LIMIT_BYTES = 2 * 2**30
TF_WARNINGS = re.compile(
    r"absl::InitializeLog|oneDNN custom operations|TF-TRT|Unable to register cu|cuda|"
    r"This TensorFlow binary is optimized",
)


# ---------------------------------------------------------------- the environment, as repo2docker builds it
def build_env(env: Path, home: Path) -> float:
    """A fresh virtual environment with binder/'s requirements, then postBuild run in the session's home."""
    started = time.monotonic()
    wanted = hashlib.sha256(
        b"".join((home / "binder" / n).read_bytes() for n in ("requirements.txt", "constraints.txt"))
    )
    if not (env / ".built").exists() or (env / ".built").read_text() != wanted.hexdigest():
        shutil.rmtree(env, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
        pip = [str(env / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        subprocess.run([*pip, "-r", str(home / "binder" / "requirements.txt")], check=True, cwd=home)
    path = f"{env / 'bin'}{os.pathsep}{os.environ['PATH']}"
    # as on Binder, the repository is the home folder (postBuild cleans ~/.cache/pip: this one's, not the caller's)
    subprocess.run(
        ["bash", str(home / "binder" / "postBuild")],
        check=True,
        cwd=home,
        env={**os.environ, "PATH": path, "HOME": str(home)},
    )
    (env / ".built").write_text(wanted.hexdigest())
    return time.monotonic() - started


def copy_home(home: Path) -> None:
    """The repository as Binder checks it out: the files git tracks, as they are in this working tree."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in files.decode().split("\0"):
        if name and (ROOT / name).is_file():
            (home / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, home / name)


# ---------------------------------------------------------------- the session's memory cgroup
class MemoryCgroup:
    """A memory cgroup of its own (v2 where the unified hierarchy has the memory controller, else v1)."""

    def __init__(self, limit: int):
        name = f"tunewidgets-class-{os.getpid()}"
        v2 = Path("/sys/fs/cgroup")
        if (v2 / "cgroup.controllers").exists() and "memory" in (v2 / "cgroup.controllers").read_text().split():
            self.v2, self.dir = True, v2 / name
        else:
            self.v2, self.dir = False, Path("/sys/fs/cgroup/memory") / name
        self.dir.mkdir()
        if self.v2:
            (self.dir / "memory.max").write_text(str(limit))
            with contextlib.suppress(OSError):
                (self.dir / "memory.swap.max").write_text("0")
        else:
            (self.dir / "memory.limit_in_bytes").write_text(str(limit))
            with contextlib.suppress(OSError):  # where swap is accounted: none beyond the limit either
                (self.dir / "memory.memsw.limit_in_bytes").write_text(str(limit))

    def enter(self, pid: int) -> None:
        (self.dir / "cgroup.procs").write_text(str(pid))

    def _read(self, v2: str, v1: str) -> str:
        return (self.dir / (v2 if self.v2 else v1)).read_text()

    def usage_mb(self) -> float:
        return int(self._read("memory.current", "memory.usage_in_bytes")) / 2**20

    def anon_mb(self) -> float:
        """What the session holds that cannot be reclaimed (its processes' memory, page cache not counted)."""
        stat = dict(line.split() for line in self._read("memory.stat", "memory.stat").splitlines() if " " in line)
        key = "anon" if self.v2 else "total_rss"
        return int(stat.get(key, 0)) / 2**20

    def peak_mb(self) -> float:
        try:
            return int(self._read("memory.peak", "memory.max_usage_in_bytes")) / 2**20
        except OSError:  # a kernel without memory.peak (v2 before Linux 5.19)
            return float("nan")

    def oom_kills(self) -> int:
        text = self._read("memory.events", "memory.oom_control")
        found = re.search(r"^oom_kill (\d+)", text, re.M)
        return int(found.group(1)) if found else 0

    def pids(self) -> list[int]:
        try:
            return [int(p) for p in (self.dir / "cgroup.procs").read_text().split()]
        except OSError:
            return []

    def remove(self) -> None:
        for _ in range(50):
            pids = self.pids()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            if not pids:
                break
            time.sleep(0.1)
        with contextlib.suppress(OSError):
            self.dir.rmdir()


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """A process's resident memory (``RssAnon``: what it alone holds and cannot give back but by ending)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def kernel_pid(kernel_id: str) -> int | None:
    """The process of a kernel: the one started with its connection file."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if f"kernel-{kernel_id}.json".encode() in cmdline:
                return int(entry)
    return None


# ---------------------------------------------------------------- Jupyter Server: REST and the kernel's websocket
class Server:
    def __init__(self, env: Path, home: Path, cgroup: MemoryCgroup, log: Path):
        self.port = _free_port()
        self.token = secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        child_env = {
            **os.environ,
            "PATH": f"{env / 'bin'}{os.pathsep}{os.environ['PATH']}",
            "MEM_LIMIT": str(LIMIT_BYTES),  # as Binder sets it
            "HOME": str(home),
            "JUPYTER_CONFIG_DIR": str(home / ".jupyter"),
            "JUPYTER_DATA_DIR": str(home / ".local" / "share" / "jupyter"),
            "JUPYTER_RUNTIME_DIR": str(home / ".local" / "share" / "jupyter" / "runtime"),
        }
        for name in ("VIRTUAL_ENV", "PYTHONPATH", "TW_TRIALS", "TW_EPOCHS", "TUNEWIDGETS_KEEP_WARM"):
            child_env.pop(name, None)
        child_env["VIRTUAL_ENV"] = str(env)
        command = [
            "bash", str(home / "binder" / "start"), "jupyter", "lab", "--no-browser", "--ip=127.0.0.1",
            f"--port={self.port}", f"--IdentityProvider.token={self.token}", "--ServerApp.open_browser=False",
            "--allow-root",  # the cgroup needs root; Binder itself runs as a user
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command,
            cwd=home,
            env=child_env,
            stdout=open(log, "wb"),  # noqa: SIM115 - the server's log, read at the end
            stderr=subprocess.STDOUT,
            preexec_fn=lambda: cgroup.enter(os.getpid()),
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                self.get("/api/status")
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited: {log.read_text()[-2000:]}")
            time.sleep(0.5)
        raise RuntimeError("JupyterLab did not answer in 120 s")

    def _request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Authorization", f"token {self.token}")
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    def get(self, path: str) -> Any:
        return self._request("GET", path)

    def open_notebook(self, path: str) -> str:
        """A session for the notebook, as JupyterLab makes one when a student opens it; its kernel id."""
        session = self._request(
            "POST",
            "/api/sessions",
            {"path": path, "name": Path(path).name, "type": "notebook", "kernel": {"name": "python3"}},
        )
        return str(session["kernel"]["id"])

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def run_cells(server: Server, kernel_id: str, cells: list[str], cell_limit: float) -> dict[str, Any]:
    """Runs the cells in order over the kernel's websocket; each cell's time, error and stderr."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    url = f"ws://127.0.0.1:{server.port}/api/kernels/{kernel_id}/channels"
    # a FigureWidget's first message carries plotly.js (about 5 MB); tornado's default limit is 10 MiB
    ws = await websocket_connect(
        HTTPRequest(url, headers={"Authorization": f"token {server.token}"}), max_message_size=256 * 2**20
    )
    session = uuid.uuid4().hex
    times: list[float] = []
    errors: list[str] = []
    stderr: list[str] = []
    for source in cells:
        msg_id = uuid.uuid4().hex
        header = {"msg_id": msg_id, "username": "student", "session": session, "msg_type": "execute_request",
                  "version": "5.3", "date": ""}  # fmt: skip
        content = {"code": source, "silent": False, "store_history": True, "user_expressions": {},
                   "allow_stdin": False, "stop_on_error": True}  # fmt: skip
        started = time.monotonic()
        await ws.write_message(json.dumps({"header": header, "parent_header": {}, "metadata": {},
                                           "content": content, "channel": "shell", "buffers": []}))  # fmt: skip
        replied = idle = False
        # a cell that outlives the limit is a failed check; it is still waited for (up to 5 minutes) so that the
        # next cell does not run beside it
        deadline = started + max(cell_limit * 5, 300)
        while not (replied and idle):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                errors.append(f"no reply after {deadline - started:.0f} s: {source[:60]!r}")
                break
            try:
                raw = await asyncio.wait_for(ws.read_message(), remaining)
            except asyncio.TimeoutError:
                continue
            if raw is None:
                errors.append("the kernel's websocket closed (the kernel died?)")
                break
            if isinstance(raw, bytes):
                continue  # binary messages (widget buffers)
            msg = json.loads(raw)
            if os.environ.get("BINDER_CLASS_DEBUG"):  # every message of the cell's kernel, to see where one stalls
                print(
                    msg.get("channel"),
                    msg["msg_type"],
                    msg.get("parent_header", {}).get("msg_id") == msg_id,
                    len(raw),
                    str(msg.get("content"))[:100],
                    flush=True,
                )
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, body = msg["msg_type"], msg["content"]
            if kind == "execute_reply":
                replied = True
                if body.get("status") != "ok":
                    errors.append(f"{body.get('ename')}: {body.get('evalue')}")
            elif kind == "status" and body.get("execution_state") == "idle":
                idle = True
            elif kind == "stream" and body.get("name") == "stderr":
                stderr.append(body.get("text", ""))
            elif kind == "error":
                errors.append(f"{body.get('ename')}: {body.get('evalue')}")
        times.append(time.monotonic() - started)
        if errors:
            break
    ws.close()
    return {"cell_seconds": times, "errors": errors, "stderr": stderr}


def code_cells(notebook: Path) -> list[str]:
    raw = json.loads(notebook.read_text())
    return ["".join(c["source"]) for c in raw["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]


# ---------------------------------------------------------------- the class
def run_class(env: Path, home: Path, cell_limit: float, notebooks: list[Path]) -> dict[str, Any]:
    cgroup = MemoryCgroup(LIMIT_BYTES)
    log = home / "jupyterlab.log"
    server: Server | None = None
    out: dict[str, Any] = {
        "limit_mb": LIMIT_BYTES / 2**20,
        "cgroup": "v2" if cgroup.v2 else "v1",
        "planned": len(notebooks),
        "notebooks": [],
    }
    try:
        server = Server(env, home, cgroup, log)
        kernels: dict[str, tuple[str, int | None]] = {}
        for notebook in notebooks:
            started = time.monotonic()
            kernel_id = server.open_notebook(f"notebooks/{notebook.name}")
            ran = asyncio.run(run_cells(server, kernel_id, code_cells(notebook), cell_limit))
            time.sleep(2)  # what the kernel's threads finish after the last reply (views settling)
            pid = kernel_pid(kernel_id)
            kernels[notebook.name] = (kernel_id, pid)
            row = {
                "notebook": notebook.name,
                "seconds": round(time.monotonic() - started, 1),
                "longest_cell_s": round(max(ran["cell_seconds"], default=0.0), 1),
                "kernel_mb": round(rss_mb(pid), 0) if pid else None,
                "kernel_anon_mb": round(rss_mb(pid, "RssAnon"), 0) if pid else None,
                "session_mb": round(cgroup.usage_mb(), 0),
                "session_anon_mb": round(cgroup.anon_mb(), 0),
                "errors": ran["errors"],
                "tf_warnings": [line for line in ran["stderr"] if TF_WARNINGS.search(line)],
                # what told the student the session's memory is short (tw.live() before a search in the kernel)
                "memory_warnings": [line[:300] for line in ran["stderr"] if "MemoryWarning" in line],
            }
            out["notebooks"].append(row)
            print(json.dumps(row), flush=True)
        out["peak_mb"] = round(cgroup.peak_mb(), 0)
        out["oom_kills"] = cgroup.oom_kills()
        alive = {k["id"] for k in server.get("/api/kernels")}
        out["kernels_at_end"] = {
            name: {
                "alive": kernel_id in alive and pid is not None and kernel_pid(kernel_id) == pid,
                "mb": round(rss_mb(pid), 0) if pid else None,
                "anon_mb": round(rss_mb(pid, "RssAnon"), 0) if pid else None,
            }
            for name, (kernel_id, pid) in kernels.items()
        }
    finally:
        if server is not None:
            server.stop()
        cgroup.remove()
    text = log.read_text(errors="replace")
    out["restarts"] = len(re.findall(r"restarting kernel|KernelRestarter: restart|Kernel died", text, re.I))
    return out


def problems(out: dict[str, Any], cell_limit: float) -> list[str]:
    found = []
    if out.get("oom_kills"):
        found.append(f"{out['oom_kills']} process(es) killed by the OOM killer")
    if out.get("restarts"):
        found.append(f"{out['restarts']} kernel restart(s) or death(s) in JupyterLab's log")
    for name, kernel in out.get("kernels_at_end", {}).items():
        if not kernel["alive"]:
            found.append(f"{name}'s kernel is not the one that ran it (died or restarted)")
    for row in out["notebooks"]:
        if row["errors"]:
            found.append(f"{row['notebook']}: {row['errors'][0]}")
        if row["longest_cell_s"] > cell_limit:
            found.append(f"{row['notebook']}: a cell took {row['longest_cell_s']} s (limit {cell_limit:g} s)")
        if row["tf_warnings"]:
            found.append(f"{row['notebook']}: TensorFlow start-up warning: {row['tf_warnings'][0].strip()[:120]}")
    if len(out["notebooks"]) != out["planned"]:
        found.append(f"{len(out['notebooks'])} of {out['planned']} notebooks ran")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", help="where the Binder environment is built (kept; reused when built)")
    parser.add_argument("--cell-limit", type=float, default=60.0, help="seconds a cell may take")
    parser.add_argument("--check", action="store_true", help="exit 1 when a check fails")
    parser.add_argument("--all", action="store_true", help="notebook 10 too (it does not fit beside the nine)")
    parser.add_argument("--json")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root: it makes a memory cgroup for the session", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="tunewidgets-binder-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        copy_home(home)
        env = Path(args.env) if args.env else Path(tmp) / "env"
        build_s = build_env(env.resolve(), home)
        out = run_class(env.resolve(), home, args.cell_limit, ALL_NOTEBOOKS if args.all else CLASS)
    out["build_s"] = round(build_s, 0)
    out["machine"] = f"{platform.machine()}, {os.cpu_count()} cores"
    out["date"] = time.strftime("%Y-%m-%d")
    found = problems(out, args.cell_limit)
    out["problems"] = found
    print(f"peak {out.get('peak_mb')} MB of {out['limit_mb']:.0f} MB; OOM kills {out.get('oom_kills')}; "
          f"restarts {out.get('restarts')}")  # fmt: skip
    for row in out["notebooks"]:
        print(f"  {row['notebook']}: {row['seconds']} s (longest cell {row['longest_cell_s']} s), kernel "
              f"{row['kernel_mb']} MB ({row['kernel_anon_mb']} MB its own), session {row['session_mb']} MB "
              f"({row['session_anon_mb']} MB not reclaimable)")  # fmt: skip
    for problem in found:
        print("PROBLEM:", problem)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
    return 1 if found and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
