"""Worker processes: parallel trials, retiring workers, crashed workers, a worker joining from outside."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import tunewidgets as tw
from tunewidgets.engine import Search
from tunewidgets.engine.folder.protocol import LEFT_WAITING
from tunewidgets.engine.warm import warm_workers
from tunewidgets.events import EndReason, EpochEnded, TrialEnded, TrialStarted, TrialStatus

from .conftest import collect, tiny


@pytest.mark.slow
def test_two_workers_share_one_oracle_and_every_trial_is_recorded(tmp_path, quickstart):
    from .keras_callbacks import WaitForWorkers

    spec = tiny(quickstart, trials=6, epochs=2).replace(**{"tuner.workers": 2})
    search = Search(spec, tmp_path, callbacks=[WaitForWorkers(str(tmp_path))])  # both workers train, however slow
    events = collect(search)
    results = search.run()
    assert search.end_reason is EndReason.COMPLETED
    started = [e for e in events if isinstance(e, TrialStarted)]
    assert {e.worker for e in started} == {"tuner0", "tuner1"}
    # one oracle: no trial id handed out twice, no hyperparameters trained twice
    assert len({e.trial_id for e in started}) == 6
    assert len({json.dumps(e.hyperparameters, sort_keys=True) for e in started}) == 6
    assert results.trials["status"].tolist() == ["completed"] * 6
    # every epoch of every worker reached the record and the disk, in each trial's order
    on_disk = tw.load(tmp_path)
    assert len(on_disk.trials) == 6
    for trial_id in {e.trial_id for e in started}:
        epochs = [e.epoch for e in events if isinstance(e, EpochEnded) and e.trial_id == trial_id]
        assert epochs == [1, 2]
    assert on_disk.best_model() is not None


@pytest.mark.slow
def test_trials_never_train_in_the_calling_process(tmp_path, quickstart):
    code = (
        "import sys; from tunewidgets.engine import Search; from tunewidgets.spec import Spec; "
        f"from tests.conftest import tiny; Search(tiny(Spec.from_file({str(quickstart_path())!r}), trials=1, "
        f"epochs=1), {str(tmp_path)!r}).run(); print('tensorflow' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=os.getcwd())
    assert out.stdout.strip().splitlines()[-1] == "False"
    assert tw.load(tmp_path).trials["status"].tolist() == ["completed"]


def quickstart_path():
    from .conftest import SPECS

    return SPECS / "quickstart.json"


@pytest.mark.slow
def test_a_worker_that_grew_retires_and_a_fresh_one_resumes(tmp_path, quickstart):
    spec = tiny(quickstart, trials=4, epochs=2)
    search = Search(spec, tmp_path, recycle_mb=0.001)  # any growth at all: retire after every trial
    events = collect(search)
    results = search.run()
    assert search.end_reason is EndReason.COMPLETED
    assert results.trials["status"].tolist() == ["completed"] * 4
    assert search.worker_processes >= 3
    assert sum(isinstance(e, TrialStarted) for e in events) == 4  # no trial ran twice


@pytest.mark.slow
def test_a_worker_killed_mid_trial_is_recorded_and_the_search_goes_on(tmp_path, quickstart):
    from .keras_callbacks import KillOnce

    spec = tiny(quickstart, trials=3, epochs=3)
    search = Search(spec, tmp_path, callbacks=[KillOnce(str(tmp_path / "killed-once"))])
    events = collect(search)
    results = search.run()
    assert search.end_reason is EndReason.COMPLETED
    failed = [e for e in events if isinstance(e, TrialEnded) and e.status is TrialStatus.FAILED]
    assert len(failed) == 1
    assert failed[0].message.startswith("its worker process died: killed by SIGKILL")
    # the trial it was training ran again in the fresh worker; all three completed
    assert results.trials["status"].tolist() == ["completed"] * 3


@pytest.mark.slow
def test_a_worker_dying_every_time_ends_the_search_with_the_reason(tmp_path, quickstart):
    from .keras_callbacks import KillAlways

    search = Search(tiny(quickstart, trials=3, epochs=2), tmp_path, callbacks=[KillAlways()])
    with pytest.raises(tw.SearchError, match="worker processes died 3 times in a row"):
        search.run()  # the caller hears why, and the record keeps it
    assert search.end_reason is EndReason.ERROR
    assert "worker processes died 3 times in a row" in tw.load(tmp_path).record.ended.message


@pytest.mark.slow
def test_hyperband_with_two_workers_runs_its_whole_plan(tmp_path):
    """Hyperband's oracle makes a worker wait (IDLE) while a bracket finishes elsewhere."""
    from .conftest import SPECS

    spec = tiny(tw.Spec.from_file(SPECS / "hyperband.json"), trials=4).replace(**{"tuner.workers": 2})
    results = Search(spec, tmp_path).run()
    planned = tw.spec.budget.planned_trials(spec)
    assert results.trials["status"].tolist() == ["completed"] * planned


def worker_pids(directory):
    """The process id each worker of a search printed to its log."""
    pids = set()
    for log in (directory / "workers").glob("*.log"):
        for line in log.read_text().splitlines():
            if line.startswith("tunewidgets worker "):
                pids.add(int(line.split(" pid ")[1].split(",")[0]))
    return pids


@pytest.mark.slow
def test_the_next_search_of_the_process_is_handed_to_the_warm_worker(tmp_path, quickstart):
    spec = tiny(quickstart, trials=2, epochs=1)
    first = Search(spec, tmp_path / "a", keep_warm=60)
    first.run()
    second = Search(spec.replace(**{"tuner.seed": 7}), tmp_path / "b", keep_warm=60)
    events = collect(second)
    results = second.run()
    assert first.end_reason is second.end_reason is EndReason.COMPLETED
    assert worker_pids(tmp_path / "a") == worker_pids(tmp_path / "b")  # the same process trained both
    assert results.trials["status"].tolist() == ["completed"] * 2
    assert [e.epoch for e in events if isinstance(e, EpochEnded)] == [1, 1]
    assert tw.load(tmp_path / "b").best_score == results.best_score


@pytest.mark.slow
def test_two_warm_workers_chief_included_take_the_next_parallel_search(tmp_path, quickstart):
    spec = tiny(quickstart, trials=4, epochs=1).replace(**{"tuner.workers": 2})
    Search(spec, tmp_path / "a", keep_warm=60).run()
    second = Search(spec, tmp_path / "b", keep_warm=60)
    results = second.run()
    assert second.end_reason is EndReason.COMPLETED
    assert len(worker_pids(tmp_path / "a")) == 2
    assert worker_pids(tmp_path / "a") == worker_pids(tmp_path / "b")
    assert results.trials["status"].tolist() == ["completed"] * 4


@pytest.mark.slow
def test_without_keep_warm_each_search_starts_its_own_worker(tmp_path, quickstart, monkeypatch):
    monkeypatch.setenv("TUNEWIDGETS_KEEP_WARM", "0")
    spec = tiny(quickstart, trials=1, epochs=1)
    Search(spec, tmp_path / "a").run()
    Search(spec, tmp_path / "b").run()
    assert worker_pids(tmp_path / "a").isdisjoint(worker_pids(tmp_path / "b"))


@pytest.mark.slow
def test_a_warm_worker_that_died_while_waiting_is_replaced(tmp_path, quickstart):
    spec = tiny(quickstart, trials=1, epochs=1)
    Search(spec, tmp_path / "a", keep_warm=60).run()
    (pid,) = worker_pids(tmp_path / "a")
    waiting = [p for p in warm_workers.parked() if p.pid == pid]
    assert waiting, "the finished worker is not waiting"
    waiting[0].kill()
    waiting[0].wait(10)
    second = Search(spec, tmp_path / "b", keep_warm=60)
    second.run()
    assert second.end_reason is EndReason.COMPLETED
    assert pid not in worker_pids(tmp_path / "b")


@pytest.mark.slow
def test_a_warm_worker_that_left_as_a_search_was_handed_over_is_replaced_not_a_crash(tmp_path, quickstart):
    # what a waiting worker does when the session's memory runs short as a search is handed to it: it ends with
    # LEFT_WAITING, the search unread. Here it is the chief of two: a crash of the chief ends a search in error.
    from tunewidgets.engine.pool import worker_threads
    from tunewidgets.engine.warm import _environment

    spec = tiny(quickstart, trials=2, epochs=1).replace(**{"tuner.workers": 2})
    leaving = subprocess.Popen(
        [sys.executable, "-c", f"import sys; sys.stdin.readline(); sys.exit({LEFT_WAITING})"], stdin=subprocess.PIPE
    )
    warm_workers.put(_environment(worker_threads(2))[1], leaving, 60)
    search = Search(spec, tmp_path, keep_warm=60)
    results = search.run()
    assert leaving.wait(10) == LEFT_WAITING  # it was handed the chief's part, and left
    assert search.end_reason is EndReason.COMPLETED
    assert results.trials["status"].tolist() == ["completed"] * 2
    assert search.worker_processes == 3  # the chief twice, the client once


@pytest.mark.slow
def test_a_task_handed_to_a_warm_worker_that_left_is_done_by_a_fresh_one(tmp_path, quickstart):
    from tunewidgets.engine.warm import _environment

    tw.run(tiny(quickstart, trials=1, epochs=1), tmp_path, keep_warm=0)
    leaving = subprocess.Popen(
        [sys.executable, "-c", f"import sys; sys.stdin.readline(); sys.exit({LEFT_WAITING})"], stdin=subprocess.PIPE
    )
    warm_workers.put(_environment(0)[1], leaving, 60)
    scores = tw.load(tmp_path).evaluate()  # a task in a worker process (--evaluate)
    assert leaving.wait(10) == LEFT_WAITING
    assert sorted(scores) == ["accuracy", "loss"]


@pytest.mark.slow
def test_a_warm_worker_exits_when_its_time_is_up(tmp_path, quickstart):
    Search(tiny(quickstart, trials=1, epochs=1), tmp_path, keep_warm=1).run()
    (pid,) = worker_pids(tmp_path)
    (process,) = [p for p in warm_workers.parked() if p.pid == pid]
    assert process.wait(30) == LEFT_WAITING  # it took no other search


def test_keep_warm_setting_is_checked(monkeypatch, tmp_path, quickstart):
    monkeypatch.setenv("TUNEWIDGETS_KEEP_WARM", "soon")
    with pytest.raises(ValueError, match="TUNEWIDGETS_KEEP_WARM: expected seconds"):
        Search(tiny(quickstart, trials=1, epochs=1), tmp_path).run()


def test_a_waiting_worker_reads_its_next_search_from_its_input():
    from tunewidgets.engine.worker import standby as _worker

    read, write = os.pipe()
    assignment = {"argv": ["DIR", "--id", "tuner0"], "log": "tuner0.log", "env": {"A": "1"}}
    os.write(write, json.dumps(assignment).encode()[:10])  # a line may arrive in pieces
    os.write(write, json.dumps(assignment).encode()[10:] + b"\n")
    assert _worker.next_assignment(10, None, fd=read) == assignment
    os.close(write)
    assert _worker.next_assignment(10, None, fd=read) is None  # the controller closed the pipe: exit
    os.close(read)


def test_a_waiting_worker_gives_its_memory_back_when_memory_runs_short(monkeypatch, capsys):
    from tunewidgets import _memory
    from tunewidgets.engine.worker import standby as _worker

    read, write = os.pipe()
    short = "Memory is short: this session has 2.0 GB of memory in all and 400 MB left."
    monkeypatch.setattr(_memory, "memory_short", lambda need: short if need >= _worker.WARM_MIN_FREE_MB else None)
    looks: list[float] = []  # each look at its input (nothing there): it leaves after its first wait
    monkeypatch.setattr(_memory.select, "select", lambda r, w, x, t: looks.append(t) or ([], [], []))
    assert _worker.next_assignment(30, None, fd=read) is None
    assert looks == [_worker.MEMORY_EVERY, 0]  # one wait, then a last look before leaving
    assert short in capsys.readouterr().out  # why it left, in its log
    os.close(read)
    os.close(write)


def test_available_memory_is_measured():
    from tunewidgets._memory import _meminfo_available_mb, available_mb

    assert 0 < available_mb() <= _meminfo_available_mb()
