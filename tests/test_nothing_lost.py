"""Nothing lost, every answer clear: damaged folders, worker errors and settings checked before a search starts.

Table-driven: each row makes its input on the fly and names what the user must be told. The folder cases run a
real (tiny) search, stop it halfway, damage one file and run again: every trial that ended before must still be
there with its score and its checkpoint's bytes, whether the run resumes or refuses.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import tunewidgets as tw
from tunewidgets.cli import main
from tunewidgets.engine.folder import store
from tunewidgets.engine.folder.project import Project
from tunewidgets.events import TrialEnded, event_to_dict
from tunewidgets.plots import write_report

from .conftest import tiny

# ---------------------------------------------------------------------------------------------------- helpers


def finished(directory: Path) -> dict[str, tuple[str, float, str]]:
    """Each ended trial with a score: its status, its score and a digest of its checkpoint file."""
    project = Project(directory)
    results = tw.load(directory)
    out = {}
    for t in results.record.completed():
        digest = hashlib.sha256(project.checkpoint(t.trial_id).read_bytes()).hexdigest()
        out[t.trial_id] = (t.status.value, t.score, digest)
    return out


@pytest.fixture(scope="module")
def halfway(tmp_path_factory) -> tuple[Path, tw.Spec]:
    """A real search of 4 trials stopped after 2 ended (kept as the original every case copies)."""
    spec = tiny(tw.Spec.from_file(Path(__file__).parent.parent / "examples/specs/quickstart.json"), trials=4, epochs=2)
    spec = spec.replace(**{"tuner.seed": 3})
    folder = tmp_path_factory.mktemp("halfway") / "search"
    search = tw.Search(spec, folder, keep_warm=0)
    ended: list[TrialEnded] = []

    def count(event):
        ended.append(event)
        if len(ended) == 2:
            search.stop()

    search.events.subscribe(count, TrialEnded)
    search.run()
    assert len(tw.load(folder).record.completed()) >= 2
    return folder, spec


def damage_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 3] = ord("#")
    path.write_bytes(bytes(data))


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def first_trial_json(project: Project) -> Path:
    return sorted(project.tuner_dir.glob("trial_*/trial.json"))[0]


# each row: (case, what is done to the folder, whether the next run resumes, words the refusal must contain)
FOLDER_CASES = [
    ("events-one-byte-changed", lambda p: damage_byte(p.events), True, ()),
    ("events-deleted", lambda p: p.events.unlink(), True, ()),
    ("events-truncated", lambda p: truncate(p.events), True, ()),
    ("events-emptied", lambda p: p.events.write_bytes(b""), True, ()),
    ("oracle-json-damaged", lambda p: damage_byte(p.tuner_dir / "oracle.json"), False, ("oracle.json", "--overwrite")),
    ("oracle-json-truncated", lambda p: truncate(p.tuner_dir / "oracle.json"), False, ("oracle.json", "new folder")),
    ("trial-json-damaged", lambda p: truncate(first_trial_json(p)), False, ("trial.json", "kept")),
]


@pytest.mark.slow
@pytest.mark.parametrize(("case", "damage", "resumes", "words"), FOLDER_CASES, ids=[c[0] for c in FOLDER_CASES])
def test_a_damaged_folder_keeps_every_finished_trial(halfway, tmp_path, case, damage, resumes, words):
    original, spec = halfway
    folder = tmp_path / "search"
    shutil.copytree(original, folder)
    before = finished(folder)
    project = Project(folder)
    damage(project)
    if resumes:
        results = tw.Search(spec, folder, keep_warm=0).run()
        assert results.status == "completed"
        assert len(results.record.trials) == 4
        assert not results.record.ended.message  # trained the rest, not "nothing to train"
    else:
        with pytest.raises(tw.ProjectError) as raised:
            tw.Search(spec, folder, keep_warm=0).run()
        for word in words:
            assert word in str(raised.value)
    after = finished(folder)
    assert {k: after[k] for k in before} == before  # same status, score and checkpoint bytes


@pytest.mark.slow
def test_the_cli_resumes_after_the_event_log_is_deleted(halfway, tmp_path, capfd):
    original, spec = halfway
    folder = tmp_path / "search"
    shutil.copytree(original, folder)
    spec_file = tmp_path / "spec.json"
    spec.save(spec_file)
    before = finished(folder)
    Project(folder).events.unlink()
    assert main(["run", str(spec_file), "--dir", str(folder)]) == 0
    out = capfd.readouterr().out
    assert "Resuming search" in out
    assert "events.jsonl is missing" in out  # told, not silently rebuilt
    after = finished(folder)
    assert {k: after[k] for k in before} == before
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the log was written anew: nothing left to report
        assert len(tw.load(folder).record.trials) == 4


def test_load_rebuilds_the_record_from_the_trials_own_files(tmp_path):
    """Without training: the files a search writes at each trial's end are the record when the log is gone."""
    from tunewidgets.engine.folder.record import SearchRecord
    from tunewidgets.events import EndReason, EpochEnded, SearchEnded, SearchStarted, TrialStarted, TrialStatus

    project = Project(tmp_path)
    tw.Spec().save(project.spec)
    record = SearchRecord()
    errors: list[OSError] = []
    files = store.SearchFiles(project, record, errors.append)
    events = [
        SearchStarted("s", "val_accuracy", "max", "random", 2, 2, False),
        TrialStarted("0", {"units": 8}),
        EpochEnded("0", 1, {"val_accuracy": 0.5, "loss": float("nan")}),
        EpochEnded("0", 2, {"val_accuracy": 0.75, "loss": 1.0}),
        TrialEnded("0", TrialStatus.COMPLETED, 0.75, 2, 1.0),
        TrialStarted("1", {"units": 16}),
        TrialEnded("1", TrialStatus.FAILED, None, None, 0.5, "ValueError: bad"),
        SearchEnded(EndReason.COMPLETED, "", "0", 0.75),
    ]
    for event in events:
        record.apply(event)
        files(event)
    assert not errors
    rebuilt, notes = store.read_record(project)
    assert notes == ["events.jsonl is missing: the search's record was rebuilt from state.json and trials/"]
    assert [t.to_dict() for t in rebuilt.ordered()] == [t.to_dict() for t in record.ordered()]
    assert rebuilt.ended.reason is EndReason.COMPLETED
    assert rebuilt.best().trial_id == "0"
    store.rewrite_log(project, record)  # the log a resume writes anew replays into the same record
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = tw.load(tmp_path).record
    assert [t.to_dict() for t in again.ordered()] == [t.to_dict() for t in record.ordered()]
    assert again.ended == record.ended
    with pytest.warns(UserWarning, match="events.jsonl has 1 damaged line"):
        project.events.write_text(project.events.read_text() + "{not json\n" + project.events.read_text())
        tw.load(tmp_path)


def test_a_trial_ended_in_keras_tuners_files_but_not_recorded_is_read_from_there(tmp_path):
    """A search killed between a worker ending trials in keras-tuner's oracle and the controller recording those
    ends: keras-tuner will not train them again, so their ends are read from its trial.json files."""
    from tunewidgets.events import EpochEnded, SearchStarted, TrialStarted, TrialStatus

    project = Project(tmp_path)
    tw.Spec().save(project.spec)
    lines = [
        SearchStarted("s", "val_accuracy", "max", "random", 3, 2, False),
        TrialStarted("0", {"units": 8}),
        EpochEnded("0", 1, {"val_accuracy": 0.5}),
        EpochEnded("0", 2, {"val_accuracy": 0.75}),
        TrialStarted("1", {"units": 16}),
        TrialStarted("2", {"units": 32}),
    ]
    project.events.write_text("".join(json.dumps(event_to_dict(e)) + "\n" for e in lines))
    for trial_id, content in {
        "0": {"status": "COMPLETED", "score": 0.75, "best_step": 1},
        "1": {"status": "FAILED", "score": None, "message": "Traceback ...\nValueError: bad units"},
        "2": {"status": "RUNNING", "score": None},
    }.items():
        (project.tuner_dir / f"trial_{trial_id}").mkdir(parents=True)
        (project.tuner_dir / f"trial_{trial_id}" / "trial.json").write_text(
            json.dumps({"trial_id": trial_id, **content})
        )
    record, notes = store.read_record(project)
    t0, t1, t2 = record.ordered()
    assert (t0.status, t0.score, t0.best_epoch) == (TrialStatus.COMPLETED, 0.75, 2)
    assert (t1.status, t1.message) == (TrialStatus.FAILED, "ValueError: bad units")
    assert t2.status is TrialStatus.RUNNING  # still training, or cut off: it runs again on resume
    assert "2 trials ended in keras-tuner's files after the last record of them" in notes[-1]


@pytest.mark.slow
def test_a_full_disk_stops_the_search_with_that_said_and_keeps_what_ended(quickstart, tmp_path, monkeypatch, caplog):
    from tunewidgets.engine.folder import eventlog

    spec = tiny(quickstart, trials=4, epochs=2)
    search = tw.Search(spec, tmp_path / "s", keep_warm=0)
    ended: list[TrialEnded] = []
    search.events.subscribe(ended.append, TrialEnded)
    write = eventlog.EventLog.__call__

    def full_after_first_trial(self, event):
        if ended:
            raise_full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            self._failed(raise_full)
            return
        write(self, event)

    monkeypatch.setattr(eventlog.EventLog, "__call__", full_after_first_trial)
    with caplog.at_level(logging.ERROR), pytest.raises(tw.ProjectError, match="No space left on device"):
        search.run()
    assert "event handler" not in caplog.text  # no traceback for a full disk
    assert search.record.ended.reason == "error"
    monkeypatch.undo()
    results = tw.load(tmp_path / "s")
    assert ended[0].trial_id in {t.trial_id for t in results.record.completed()}


class _FailsInTheWorker:
    """A Keras-callback stand-in that copies and pickles here but cannot be loaded in another process."""

    def __init__(self) -> None:
        self.pid = os.getpid()

    def __reduce__(self):
        return (_rebuild, (self.pid,))


def _rebuild(pid: int) -> _FailsInTheWorker:
    if os.getpid() != pid:
        raise ValueError("this callback cannot be rebuilt in a worker process")
    return _FailsInTheWorker()


@pytest.mark.slow
def test_a_worker_error_reaches_the_caller(quickstart, tmp_path):
    search = tw.Search(tiny(quickstart), tmp_path / "s", callbacks=[_FailsInTheWorker()], keep_warm=0)
    with pytest.raises(tw.SearchError, match="cannot be rebuilt in a worker process"):
        search.run()
    assert search.record.ended.reason == "error"
    assert "cannot be rebuilt" in search.record.ended.message
    report = write_report(tmp_path / "s", tmp_path / "report.html", evaluate=False).read_text()
    assert "why it ended" in report and "cannot be rebuilt in a worker process" in report  # the report says why


# ---------------------------------------------------------------------------------------------------- the CLI


def spec_file(tmp_path: Path) -> str:
    path = tmp_path / "spec.json"
    tiny(tw.Spec.from_file(Path(__file__).parent.parent / "examples/specs/quickstart.json")).save(path)
    return str(path)


def a_file(tmp_path: Path) -> Path:
    path = tmp_path / "a-file"
    path.write_text("x")
    return path


# each row: (case, the argument list made from tmp_path, exit code, words stderr must contain)
CLI_CASES = [
    ("listen-retired", lambda t: ["run", spec_file(t), "--dir", str(t / "d"), "--listen", "0.0.0.0:8470"], 2,
     ["--listen", "Dask cluster", "--cluster tcp://SCHEDULER:8786"]),
    ("cluster-not-an-address", lambda t: ["run", spec_file(t), "--dir", str(t / "d"), "--cluster", "nonsense"], 2,
     ["cluster", "'nonsense' is not a Dask scheduler's address", "tcp://HOST:PORT"]),
    ("cluster-port-too-big", lambda t: ["run", spec_file(t), "--dir", str(t / "d"), "--cluster", "tcp://h:99999"], 2,
     ["cluster", "not a Dask scheduler's address"]),
    ("workers-beyond-the-trials", lambda t: ["run", spec_file(t), "--dir", str(t / "d"), "--workers", "64"], 2,
     ["tuner.workers", "64 workers for 2 trials"]),
    ("dir-empty", lambda t: ["run", spec_file(t), "--dir", ""], 2, ["folder", "empty"]),
    ("report-to-a-folder", lambda t: ["report", str(t), "-o", str(t)], 2, ["--output", "is a folder"]),
    ("report-below-a-file", lambda t: ["report", str(t), "-o", str(a_file(t) / "r.html")], 2,
     ["--output", "cannot write"]),
    ("report-empty-dir", lambda t: ["report", ""], 2, ["not a folder"]),
    ("worker-retired", lambda t: ["worker", str(t / "s"), "--chief", "h:8470"], 2,
     ["worker", "dask worker tcp://SCHEDULER:8786", "--cluster"]),
]  # fmt: skip


@pytest.mark.parametrize(("case", "argv", "code", "words"), CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_cli_answers_bad_input_before_starting(tmp_path, capsys, case, argv, code, words):
    assert main(argv(tmp_path)) == code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for word in words:
        assert word in err


@pytest.mark.slow
def test_demo_refuses_a_folder_holding_another_search(tmp_path):
    folder = tmp_path / "s"
    assert main(["run", spec_file(tmp_path), "--dir", str(folder)]) == 0
    before = finished(folder)
    proc = subprocess.run(
        [sys.executable, "-m", "tunewidgets.cli", "demo", "--dir", str(folder), "--trials", "1", "--epochs", "1"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2, proc.stderr
    assert "another spec" in proc.stderr and "--overwrite" in proc.stderr
    assert finished(folder) == before


def test_search_refuses_an_empty_folder_name(quickstart):
    with pytest.raises(tw.ProjectError, match="empty"):
        tw.Search(quickstart, "")


# each row: (case, the path made from tmp_path, words the ProjectError must contain)
SAVE_CASES = [
    ("not-a-keras-file", lambda t: t / "best.h5", ["path", ".keras", "best.h5"]),
    ("below-a-file", lambda t: a_file(t) / "best.keras", ["path", "is a file, not a folder"]),
    ("no-such-place", lambda t: Path("/proc/no-such-place/best.keras"), ["path", "could not save", "/proc"]),
]


@pytest.mark.slow
@pytest.mark.parametrize(("case", "path", "words"), SAVE_CASES, ids=[c[0] for c in SAVE_CASES])
def test_save_best_model_says_why_it_cannot(halfway, tmp_path, case, path, words):
    original, _ = halfway
    with pytest.raises(tw.ProjectError) as raised:
        tw.load(original).save_best_model(path(tmp_path))
    for word in words:
        assert word in str(raised.value)
    assert not re.search(r":\s*\d+$", str(raised.value))  # never ends in a bare error number


@pytest.mark.slow
def test_a_damaged_checkpoint_is_named_with_what_to_do(halfway, tmp_path):
    original, _ = halfway
    folder = tmp_path / "copy"
    shutil.copytree(original, folder)
    results = tw.load(folder)
    truncate(Project(folder).checkpoint(results.best_trial.trial_id))
    with pytest.raises(tw.ProjectError) as raised:
        results.best_model()
    said = str(raised.value)
    assert "saved weights" in said and "are damaged" in said and "choose another trial" in said, said


@pytest.mark.slow
def test_report_names_a_damaged_data_file_and_changes_nothing(halfway, tmp_path, capsys):
    original, _ = halfway
    folder = tmp_path / "search"
    shutil.copytree(original, folder)
    before = finished(folder)
    truncate(Project(folder).data_arrays)
    assert main(["report", str(folder), "-o", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert "data.npz" in err and "Traceback" not in err
    assert finished(folder) == before


@pytest.mark.slow
def test_too_little_disk_is_refused_with_every_figure(quickstart, tmp_path, monkeypatch):
    import shutil as shutil_module

    from tunewidgets.engine import machine_checks as checks_module

    free = 10 * 10**6
    usage = shutil_module._ntuple_diskusage(10**9, 10**9 - free, free)
    monkeypatch.setattr(checks_module.shutil, "disk_usage", lambda _: usage)
    with pytest.raises(tw.ProjectError) as raised:
        tw.Search(tiny(quickstart), tmp_path / "s", keep_warm=0).run()
    message = str(raised.value)
    assert "50.0 MB more" in message and "10.0 MB are free" in message and "free some space" in message.lower()


def test_a_missing_keras_backend_is_named_before_a_search_starts(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "nosuchbackend")  # as where its package is not installed
    assert main(["run", spec_file(tmp_path), "--dir", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert "backend" in err and "nosuchbackend" in err and "not installed" in err
    assert not (tmp_path / "d").exists()  # nothing started, nothing written
