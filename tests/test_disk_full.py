"""A disk that fills up during a search, then frees: the same command resumes and completes every trial.

A real small disk: a tmpfs over the search's folder, in a mount namespace of this test's own (``unshare
--mount``, as root), filled to the last byte once two trials have ended (``tests/disk_full.py``). The first run
must end with one message that says the disk is full and what to do, no traceback; the second, with room again,
must resume (not refuse), complete every trial, and keep each trial scored before the fault with its score and
its checkpoint's bytes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _can_mount() -> str:
    if shutil.which("unshare") is None:
        return "unshare (util-linux) is not installed"
    if os.geteuid() != 0:
        return "mounting a tmpfs needs root"
    probe = subprocess.run(["unshare", "--mount", "true"], capture_output=True, check=False)
    return "" if probe.returncode == 0 else f"unshare --mount fails here: {probe.stderr.decode()[:200]}"


WHY_NOT = _can_mount()

COMMANDS = {
    "spec": lambda folder: [
        str(Path(sys.executable).parent / "tunewidgets"), "run", str(ROOT / "examples/specs/quickstart.json"),
        "--dir", str(folder), "--trials", "6", "--epochs", "2",
    ],
    "own-model": lambda folder: [sys.executable, str(ROOT / "tests/own_model_search.py"), str(folder)],
}  # fmt: skip


@pytest.mark.slow
@pytest.mark.skipif(bool(WHY_NOT), reason=WHY_NOT)
@pytest.mark.parametrize("kind", COMMANDS)
def test_a_full_disk_then_room_again_resumes_and_completes_every_trial(tmp_path, kind):
    mount = tmp_path / "disk"
    folder = mount / "search"
    out = tmp_path / "runs.json"
    env = {**os.environ, "TW_FAULT_FOLDER": str(folder), "TF_CPP_MIN_LOG_LEVEL": "3", "TUNEWIDGETS_KEEP_WARM": "0"}
    driver = [sys.executable, str(ROOT / "tests/disk_full.py"), str(mount), str(out), "--"]
    done = subprocess.run(
        ["unshare", "--mount", *driver, *COMMANDS[kind](folder)],
        capture_output=True, text=True, env=env, timeout=900, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    runs = json.loads(out.read_text())
    first, second = runs["first"], runs["second"]
    said = first["stdout"] + first["stderr"]
    # the fault: the first run ends, saying the disk is full and what to do, without a traceback
    assert first["bytes"] > 0, "the disk was never filled"
    assert first["rc"] != 0, said
    assert "No space left on device" in said or "disk is full" in said, said
    assert "Traceback" not in said, said
    # with room again, the same command resumes and completes every trial
    again = second["stdout"] + second["stderr"]
    assert second["rc"] == 0, again
    assert "cannot resume" not in again, again
    loaded = second["loaded"]
    assert isinstance(loaded, dict), loaded
    assert len(loaded) == 6 and all(status == "completed" for status, _ in loaded.values()), loaded
    # every trial scored before the fault keeps its score and its checkpoint's bytes
    before = {t: e for t, e in first["ended"].items() if e["status"] == "completed"}
    assert len(before) >= 2
    for trial_id, ended in before.items():
        assert loaded[trial_id][1] == pytest.approx(ended["score"]), trial_id
        assert second["after"]["checkpoints"][trial_id] == first["checkpoints"][trial_id], trial_id
