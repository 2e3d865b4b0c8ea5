"""The session's memory as its container sees it (its own cgroup, those above it, memory pressure), what holds it,
and what workers and the dashboard do when it is short: fake /proc and /sys/fs/cgroup trees, and one real cgroup."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from tunewidgets import _memory
from tunewidgets._memory import (
    available_mb,
    memory_short,
    pressure,
    session_processes,
    total_mb,
)

MB = 2**20
KERNEL = "python\0-m\0ipykernel_launcher\0-f\0/home/jovyan/.local/share/jupyter/runtime/kernel-{}.json\0"
WORKER = "python\0-m\0tunewidgets.engine.worker\0runs/a\0--id\0tuner0\0"


def fake_session(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cgroup: str | None,
    files: dict[str, str | int],
    *,
    meminfo: tuple[int, int] | None = (16 * 1024, 12 * 1024),
    processes: dict[int, tuple[str, float]] | None = None,
) -> Path:
    """A fake /proc (``self/cgroup``, meminfo as (total, available) MB, processes as pid: (cmdline, RSS MB)) and a
    fake /sys/fs/cgroup holding ``files`` (paths under it: contents); returns the cgroup root."""
    proc, root = tmp_path / "proc", tmp_path / "cgroup"
    (proc / "self").mkdir(parents=True)
    root.mkdir()
    if cgroup is not None:
        (proc / "self" / "cgroup").write_text(cgroup)
    if meminfo is not None:
        total, free = meminfo
        (proc / "meminfo").write_text(f"MemTotal:       {total * 1024} kB\nMemAvailable:   {free * 1024} kB\n")
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(f"{text}\n")
    for pid, (cmdline, rss) in (processes or {}).items():
        (proc / str(pid)).mkdir()
        (proc / str(pid) / "cmdline").write_text(cmdline)
        (proc / str(pid) / "status").write_text(f"Name:\tpython\nVmRSS:\t{int(rss * 1024)} kB\n")
    monkeypatch.setattr(_memory, "PROC", str(proc))
    monkeypatch.setattr(_memory, "CGROUP_ROOT", str(root))
    return root


def v2(own: str, limit: str | int, used: int, cache: int = 0) -> dict[str, str | int]:
    return {
        f"{own}/memory.max": limit,
        f"{own}/memory.current": used,
        f"{own}/memory.stat": f"anon {used - cache}\nfile {cache}\ninactive_file {cache}",
    }


def test_cgroup_v2_reads_its_own_cgroup_less_the_page_cache_it_can_drop(tmp_path, monkeypatch):
    fake_session(
        tmp_path,
        monkeypatch,
        "0::/user.slice/jupyter.scope\n",
        v2("user.slice/jupyter.scope", 2048 * MB, 1536 * MB, 100 * MB),
    )
    assert total_mb() == 2048
    assert available_mb() == 2048 - 1436
    assert memory_short(600) is None
    assert "612 MB left" in (memory_short(700) or "")


def test_a_parent_cgroup_s_limit_binds_too(tmp_path, monkeypatch):
    files = {**v2("binder", 3072 * MB, 2900 * MB), **v2("binder/session", 2048 * MB, 500 * MB)}
    fake_session(tmp_path, monkeypatch, "0::/binder/session\n", files)
    assert total_mb() == 2048  # the smallest limit
    assert available_mb() == 3072 - 2900  # the least left: the parent holds more than this cgroup
    files = {**v2("binder", 1024 * MB, 900 * MB), **v2("binder/session", "max", 800 * MB)}
    fake_session(tmp_path / "b", monkeypatch, "0::/binder/session\n", files)
    assert (total_mb(), available_mb()) == (1024, 124)


def test_cgroup_v1_reads_the_memory_controller_s_line(tmp_path, monkeypatch):
    own = "memory/kubepods/pod1"
    files: dict[str, str | int] = {
        "memory/memory.limit_in_bytes": 9223372036854771712,  # the root's: no limit
        "memory/memory.usage_in_bytes": 10 * 1024 * MB,
        f"{own}/memory.limit_in_bytes": 2048 * MB,
        f"{own}/memory.usage_in_bytes": 1800 * MB,
        f"{own}/memory.stat": f"inactive_file {10 * MB}\ntotal_inactive_file {200 * MB}",  # the hierarchy's counts
    }
    lines = "9:name=systemd:/\n4:memory:/kubepods/pod1\n2:cpu,cpuacct:/\n0::/\n"  # a hybrid machine: v1 has memory
    fake_session(tmp_path, monkeypatch, lines, files)
    assert total_mb() == 2048
    assert available_mb() == 2048 - 1600


def test_inside_a_cgroup_namespace_the_root_files_are_the_container_s(tmp_path, monkeypatch):
    fake_session(tmp_path, monkeypatch, "0::/\n", v2(".", 2048 * MB, 1024 * MB))
    assert (total_mb(), available_mb()) == (2048, 1024)
    # a path from outside the namespace (docker without its own cgroup namespace): the root files again
    fake_session(tmp_path / "b", monkeypatch, "0::/docker/abc\n", v2(".", 1024 * MB, 512 * MB))
    assert (total_mb(), available_mb()) == (1024, 512)
    # /proc/self/cgroup unreadable: the root files of either version
    fake_session(tmp_path / "c", monkeypatch, None, {"memory/memory.limit_in_bytes": 512 * MB})
    assert total_mb() == 512


def test_no_limit_or_nothing_readable_falls_back_to_the_machine(tmp_path, monkeypatch):
    fake_session(tmp_path, monkeypatch, "0::/a\n", v2("a", "max", 100 * MB))
    assert (total_mb(), available_mb()) == (16 * 1024, 12 * 1024)
    fake_session(tmp_path / "b", monkeypatch, None, {}, meminfo=None)
    assert total_mb() == available_mb() == float("inf")
    assert pressure() is None and memory_short(600) is None


def test_memory_pressure_counts_even_with_memory_left(tmp_path, monkeypatch):
    files = {**v2("a", "max", 100 * MB), "a/memory.pressure": "some avg10=23.50 avg60=4.00 avg300=1.00 total=9\n"}
    files["a/memory.pressure"] += "full avg10=5.00 avg60=1.00 avg300=0.00 total=3"
    fake_session(tmp_path, monkeypatch, "0::/a\n", files)
    assert pressure() == 23.5
    assert "waited for memory 24% of the last 10 s" in (memory_short(600) or "")
    # cgroup v1 keeps no pressure per cgroup: the machine's
    root = fake_session(tmp_path / "b", monkeypatch, "4:memory:/\n", {})
    (root.parent / "proc" / "pressure").mkdir()
    (root.parent / "proc" / "pressure" / "memory").write_text("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")
    assert pressure() == 0.0 and memory_short(600) is None


def test_what_holds_the_memory_is_named(tmp_path, monkeypatch):
    processes = {
        101: (KERNEL.format("3f2a-11"), 300),
        102: (KERNEL.format("77b0"), 260),
        103: (KERNEL.format("c1"), 220),
        104: (WORKER, 500),
        105: ("/opt/conda/bin/python\0/opt/conda/bin/jupyter-lab\0", 150),
        107: ("/opt/conda/bin/python\0-m\0tunewidgets.sklearn_helper\x00101\0", 90),
    }
    files = {**v2("s", 2048 * MB, 1800 * MB), "s/cgroup.procs": "101\n102\n103\n104\n105\n106\n107"}  # 106 ended
    fake_session(tmp_path, monkeypatch, "0::/s\n", files, processes=processes)
    found = session_processes()
    assert [p.pid for p in found] == [104, 101, 102, 103, 105, 107]  # largest first
    assert [p.kind for p in found] == ["worker", "kernel", "kernel", "kernel", "other", "helper"]
    assert found[1].kernel_id == "3f2a-11" and found[1].rss_mb == 300
    short = memory_short(600)
    assert short is not None
    assert "this session has 2.0 GB of memory in all and 248 MB left (about 600 MB needed)" in short
    assert "3 other notebooks' kernels hold 780 MB" in short
    assert "1 tunewidgets worker 500 MB" in short and "other processes 150 MB" in short
    assert "tunewidgets' scikit-learn helper 90 MB" in short


def test_tw_live_says_before_a_search_in_this_kernel_that_memory_is_short(tmp_path, monkeypatch):
    import warnings

    import tunewidgets as tw

    processes = {101: (KERNEL.format("3f2a-11"), 300), 102: (KERNEL.format("77b0"), 260)}
    files = {**v2("s", 2048 * MB, 1900 * MB), "s/cgroup.procs": "101\n102"}
    fake_session(tmp_path, monkeypatch, "0::/s\n", files, processes=processes)
    with pytest.warns(tw.MemoryWarning) as warned:
        callback = tw.live(show=False)
    assert callback is not None  # made all the same
    (message,) = [str(w.message) for w in warned]
    assert "this session has 2.0 GB of memory in all and 148 MB left (about 256 MB needed)" in message
    assert "2 other notebooks' kernels hold 560 MB" in message
    assert "File > Close and Shut Down Notebook" in message and "may kill this kernel" in message
    # with memory to spare: nothing said
    fake_session(tmp_path / "b", monkeypatch, "0::/s\n", v2("s", 2048 * MB, 1000 * MB))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tw.live(show=False)


def test_without_its_cgroup_s_process_list_a_process_and_its_children_are_the_session(tmp_path, monkeypatch):
    monkeypatch.setattr(_memory, "CGROUP_ROOT", str(tmp_path))
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        pids = {p.pid for p in session_processes()}
    finally:
        child.communicate(b"")
    assert {os.getpid(), child.pid} <= pids


def test_a_waiting_worker_leaves_when_its_session_is_short_and_says_why(tmp_path, monkeypatch, capsys):
    from tunewidgets.engine.worker import standby

    fake_session(tmp_path, monkeypatch, "0::/s\n", v2("s", 2048 * MB, 1700 * MB))
    read, write = os.pipe()
    try:
        assert standby.next_assignment(30, None, fd=read) is None
    finally:
        os.close(read)
        os.close(write)
    assert "gives its memory back" in capsys.readouterr().out


def test_a_task_handed_over_is_taken_even_when_memory_is_short(tmp_path, monkeypatch, capsys):
    """The controller wrote the task before the worker looked at the memory: the worker does it (leaving then
    lost the task: 'the worker process ended before its task did' in a class's notebook 06)."""
    from tunewidgets.engine.worker import standby

    fake_session(tmp_path, monkeypatch, "0::/s\n", v2("s", 2048 * MB, 1700 * MB))
    read, write = os.pipe()
    try:
        os.write(write, b'{"task": ["--evaluate", "03"]}\n')
        assert standby.next_assignment(30, None, fd=read) == {"task": ["--evaluate", "03"]}
    finally:
        os.close(read)
        os.close(write)
    assert "gives its memory back" not in capsys.readouterr().out


def test_a_waiting_worker_notices_memory_running_short_within_a_second(tmp_path, monkeypatch):
    from tunewidgets.engine.worker import standby

    root = fake_session(tmp_path, monkeypatch, "0::/s\n", v2("s", 2048 * MB, 100 * MB))
    read, write = os.pipe()
    timer = threading.Timer(0.3, lambda: (root / "s" / "memory.current").write_text(f"{1900 * MB}\n"))
    timer.start()
    got: list[object] = []
    try:
        ended = threading.Event()
        waiter = threading.Thread(target=lambda: (got.append(standby.next_assignment(30, None, fd=read)), ended.set()))
        waiter.start()
        assert ended.wait(2), "it went on waiting"
        assert got == [None]  # it left (its input was neither written nor closed)
    finally:
        timer.cancel()
        os.close(write)
        waiter.join(5)
        os.close(read)


# ---------------------------------------------------------------- the dashboard


def test_the_dashboard_says_before_run_when_memory_is_short_and_how_to_free_it(tmp_path, monkeypatch):
    from tunewidgets.dashboard import Dashboard

    processes = {101: (KERNEL.format("a"), 300), 102: (KERNEL.format("b"), 260), 103: (KERNEL.format("c"), 220)}
    files = {**v2("s", 2048 * MB, 1800 * MB), "s/cgroup.procs": "101 102 103"}
    root = fake_session(tmp_path, monkeypatch, "0::/s\n", files, processes=processes)
    dash = Dashboard(base_dir=tmp_path / "runs")
    note = dash.form.memory.value
    assert "2.0 GB of memory in all" in note and "248 MB left" in note
    assert "3 other notebooks&#x27; kernels hold 780 MB" in note
    assert "File &gt; Close and Shut Down Notebook" in note and "Kernel &gt; Shut Down All Kernels" in note
    assert not dash.bar.run_button.disabled and dash.issues == []  # a warning, not a problem
    assert note not in dash.form.problems.value

    dash.form.memory_every = 3600  # (a slow machine's refresh could come after the default's few seconds)
    (root / "s" / "memory.current").write_text(f"{500 * MB}\n")  # notebooks closed
    dash.form.refresh()
    assert dash.form.memory.value == note  # read at most every memory_every seconds
    dash.form.memory_every = 0
    dash.form.refresh()
    assert dash.form.memory.value == ""


def test_no_spare_worker_starts_when_memory_is_short_or_run_cannot_start(tmp_path, monkeypatch):
    from tunewidgets.dashboard import Dashboard, launch

    started: list[int] = []
    monkeypatch.setattr(launch, "warm_up", lambda workers: started.append(workers) or workers)
    root = fake_session(tmp_path, monkeypatch, "0::/s\n", v2("s", 2048 * MB, 1800 * MB))
    dash = Dashboard(base_dir=tmp_path / "runs", views=[])
    dash.warm_up()
    assert dash.launcher._warming is not None
    dash.launcher._warming.join(60)
    assert started == [] and "248 MB left" in dash.launcher.no_spares

    (root / "s" / "memory.current").write_text(f"{500 * MB}\n")
    units = dash.controls["model.units"]
    units.mode.value = "range"
    units.min.value, units.max.value = 256, 64  # Run cannot start
    dash.warm_up()
    dash.launcher._warming.join(60)
    assert started == [] and dash.launcher.no_spares == ""
    units.max.value = 512  # fixed: Run can start, and its spare starts now
    dash.launcher._warming.join(60)
    assert started == [1]


# ---------------------------------------------------------------- a real cgroup (root, cgroup v1)

CHILD = """
import importlib.util, json, os, sys
spec = importlib.util.spec_from_file_location("tw_memory", sys.argv[1])
memory = sys.modules["tw_memory"] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(memory)  # the module alone: the base layer imports nothing of the package
sys.stdin.readline()  # moved into the cgroup by now
print(json.dumps({"total": memory.total_mb(), "available": memory.available_mb(), "pid": os.getpid(),
                  "pids": [p.pid for p in memory.session_processes()]}))
"""


def test_a_real_cgroup_s_limit_and_processes_are_read():
    base = Path("/sys/fs/cgroup/memory")
    if os.geteuid() != 0:
        pytest.skip("creating a cgroup needs root")
    if not (base / "memory.limit_in_bytes").exists() or not os.access(base, os.W_OK):
        pytest.skip(f"no writable cgroup v1 memory controller at {base}")
    group = base / f"tw-test-{os.getpid()}"
    try:
        group.mkdir()
    except OSError as e:
        pytest.skip(f"cannot create a cgroup in {base}: {e}")
    child = None
    try:
        (group / "memory.limit_in_bytes").write_text(str(512 * MB))
        source = str(Path(_memory.__file__))
        child = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(CHILD), source],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        (group / "cgroup.procs").write_text(str(child.pid))
        out, _ = child.communicate("go\n", timeout=60)
        assert child.returncode == 0
        seen = json.loads(out)
        assert seen["total"] == 512
        assert 0 < seen["available"] < 512
        assert seen["pids"] == [seen["pid"]]  # alone in its cgroup
    finally:
        if child is not None and child.poll() is None:
            child.kill()
            child.wait()
        group.rmdir()
