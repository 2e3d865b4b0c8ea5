"""The command line: exit codes, messages, no tracebacks for bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

import tunewidgets as tw
from tunewidgets.cli import main

from .conftest import SPECS, tiny


def cli(*args, timeout=600, **kw):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(
        [sys.executable, "-m", "tunewidgets.cli", *args], capture_output=True, text=True, timeout=timeout, env=env, **kw
    )


def test_validate_good_spec():
    result = cli("validate", str(SPECS / "grid.json"))
    assert result.returncode == 0
    assert "valid. Search space: 16 combinations. Grid search trains 12 trials x 10 epochs, 120 epochs in all." in (
        result.stdout
    )
    assert "Largest model: 5,569 weights" in result.stdout


def test_validate_bad_spec_exits_2_with_every_message(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "model": {"units": {"min": 256, "max": 64}},
                "optimizer": {"learning_rate": {"min": -1, "max": 0.1, "log": True}},
            }
        )
    )
    result = cli("validate", str(bad))
    assert result.returncode == 2
    assert "model.units: min 256 is above max 64" in result.stderr
    assert "optimizer.learning_rate:" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    "content,message",
    [
        ("{not json", "not valid JSON"),
        ("[]", "a spec is a JSON object"),
        ('{"version": 3}', "version 3"),
        ('{"tuner": {"algoritm": "grid"}}', "did you mean 'algorithm'"),
    ],
)
def test_bad_spec_files_in_process(tmp_path, capsys, content, message):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    assert main(["validate", str(bad)]) == 2
    assert main(["run", str(bad), "--dir", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_missing_spec_file(capsys, tmp_path):
    assert main(["validate", str(tmp_path / "nope.json")]) == 2
    assert "spec file not found" in capsys.readouterr().err


@pytest.mark.slow
def test_run_writes_results_and_tables(tmp_path):
    spec = tiny(tw.Spec.from_file(SPECS / "quickstart.json"), trials=2, epochs=2)
    path = tmp_path / "spec.json"
    spec.save(path)
    out = tmp_path / "out"
    result = cli("run", str(path), "--dir", str(out))
    assert result.returncode == 0, result.stderr
    assert "[2/2] trial 2: val_accuracy=" in result.stdout
    assert "Best model on the test split: accuracy = " in result.stdout
    assert len(tw.load(out).trials) == 2
    for name in ("trials.csv", "curves.csv", "events.jsonl", "spec.json", "data.npz"):
        assert (out / name).exists()
    # the same spec again: nothing left to do, and it says so (no worker starts, nothing is written)
    before = (out / "events.jsonl").read_bytes()
    again = cli("run", str(path), "--dir", str(out))
    assert again.returncode == 0, again.stderr
    assert "nothing to train: this search already completed its 2 trials" in again.stdout
    assert "Resuming" not in again.stdout
    assert (out / "events.jsonl").read_bytes() == before
    # another spec in the same folder is refused without a traceback
    spec.replace(**{"training.epochs": 3}).save(path)
    refused = cli("run", str(path), "--dir", str(out))
    assert refused.returncode == 2
    assert "holds a search of another spec (differs in training.epochs)" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert cli("run", str(path), "--dir", str(out), "--overwrite").returncode == 0


@pytest.mark.slow
def test_run_with_bad_data_exits_2(tmp_path):
    csv = tmp_path / "d.csv"
    csv.write_text("a,y\n" + "1,x\n" * 30)
    spec = tw.Spec().replace(**{"data.source": "csv", "data.path": str(csv), "data.target": "y"})
    path = tmp_path / "spec.json"
    spec.save(path)
    result = cli("run", str(path), "--dir", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "data.target: column 'y' has only one value ('x'); nothing to learn" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_demo_runs_a_small_search(tmp_path):
    result = cli("demo", "--dir", str(tmp_path), "--trials", "2", "--epochs", "2")
    assert result.returncode == 0, result.stderr
    assert "Search completed" in result.stdout
    assert len(tw.load(tmp_path).trials) == 2


@pytest.mark.slow
def test_killed_search_keeps_finished_trials_and_resumes(tmp_path):
    spec = tiny(tw.Spec.from_file(SPECS / "quickstart.json"), trials=4, epochs=40, samples=300)
    path = tmp_path / "spec.json"
    spec.save(path)
    out = tmp_path / "out"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tunewidgets.cli", "run", str(path), "--dir", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    events = out / "events.jsonl"
    deadline = time.time() + 300
    # kill it while the second trial trains
    while time.time() < deadline:
        text = events.read_text() if events.exists() else ""
        if text.count('"trial_ended"') >= 1 and text.count('"epoch_ended"') >= 45:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    partial = tw.load(out)
    assert partial.status == "interrupted"
    statuses = partial.trials["status"].tolist()
    assert statuses[0] == "completed" and statuses[-1] == "stopped"
    result = cli("run", str(path), "--dir", str(out))
    assert result.returncode == 0, result.stderr
    assert "Resuming" in result.stdout
    final = tw.load(out)
    assert final.trials["status"].tolist() == ["completed"] * 4
    assert final.trials.loc[0, "score"] == partial.trials.loc[0, "score"]


@pytest.mark.slow
def test_report_command_writes_one_html_file(tmp_path):
    spec = tiny(tw.Spec.from_file(SPECS / "quickstart.json"), trials=2, epochs=2)
    tw.run(spec, tmp_path / "d")
    out = tmp_path / "r.html"
    result = cli("report", str(tmp_path / "d"), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "it opens in any browser, with no kernel" in result.stdout
    text = out.read_text()
    assert "<th>best model on the test split</th><td>accuracy = 0." in text
    missing = cli("report", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "is not a folder" in missing.stderr
