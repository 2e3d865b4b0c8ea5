"""A search on a disk that fills up, then frees: run inside a mount namespace of its own (``unshare --mount``).

    unshare --mount python tests/disk_full.py MOUNT OUT -- COMMAND...

Mounts a small tmpfs over the folder ``MOUNT`` (seen only in this namespace), runs ``COMMAND`` (a search writing
into ``MOUNT``), and once two trials have ended there fills the disk with one file, to the last byte. After the
command ends, it records what the folder held (each trial ended before the fault: its score and its checkpoint's
bytes), frees the disk, runs the same command again and records the folder once more. ``OUT`` (outside the
tmpfs) receives one JSON file of both runs: exit codes, their output, and the trials. The tmpfs goes with the
namespace when this process ends.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

SIZE = "80m"  # the search asks for 50 MB free before it starts
#: What a search's folder holds once it is done, read as a user would (tunewidgets.load): every trial's end.
LOAD = (
    "import json, sys, tunewidgets as tw; r = tw.load(sys.argv[1]); "
    "print(json.dumps({t.trial_id: [t.status.value, t.score] for t in r.record.ordered()}))"
)


def ended_trials(folder: Path) -> dict[str, dict]:
    """Every trial the event log has as ended, with its score (the last end of each)."""
    ended: dict[str, dict] = {}
    log = folder / "events.jsonl"
    if not log.is_file():
        return ended
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue  # the line a full disk cut short
        if event.get("event") == "trial_ended":
            ended[event["trial_id"]] = {"status": event["status"], "score": event["score"]}
    return ended


def checkpoints(folder: Path) -> dict[str, str]:
    """Each trial's checkpoint, as the sha256 of its bytes."""
    out = {}
    for path in sorted(folder.rglob("trial_*/checkpoint.weights.h5")):
        out[path.parent.name.removeprefix("trial_")] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def fill(mount: Path) -> int:
    """Writes one file until the disk has no byte left; returns how many bytes it took."""
    written = 0
    chunk = b"\0" * 65536
    with open(mount / "filler", "wb", buffering=0) as f:
        while True:
            try:
                written += f.write(chunk)
            except OSError:
                break
        for size in (4096, 1):  # the last pages
            while True:
                try:
                    written += f.write(b"\0" * size)
                except OSError:
                    break
    return written


def run(command: list[str], mount: Path, folder: Path, fill_after: int | None) -> dict:
    filled: dict = {}
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.05):
            if len([t for t in ended_trials(folder).values() if t["status"] == "completed"]) >= (fill_after or 0):
                filled["ended"] = ended_trials(folder)
                filled["checkpoints"] = checkpoints(folder)
                filled["bytes"] = fill(mount)
                return

    watcher = threading.Thread(target=watch, daemon=True)
    if fill_after is not None:
        watcher.start()
    proc = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    done.set()
    if fill_after is not None:
        watcher.join()
    return {"rc": proc.returncode, "stdout": proc.stdout[-6000:], "stderr": proc.stderr[-6000:], **filled}


def main() -> None:
    mount, out, command = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[4:]
    assert sys.argv[3] == "--", "usage: disk_full.py MOUNT OUT -- COMMAND..."
    mount.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "--make-rprivate", "/"], check=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE}", "tunewidgets-test", str(mount)], check=True)
    folder = Path(os.environ["TW_FAULT_FOLDER"])
    try:
        first = run(command, mount, folder, fill_after=2)
        first["after"] = {"ended": ended_trials(folder), "checkpoints": checkpoints(folder)}
        (mount / "filler").unlink(missing_ok=True)
        time.sleep(0.1)
        second = run(command, mount, folder, fill_after=None)
        second["after"] = {"ended": ended_trials(folder), "checkpoints": checkpoints(folder)}
        loaded = subprocess.run([sys.executable, "-c", LOAD, str(folder)], capture_output=True, text=True, check=False)
        second["loaded"] = json.loads(loaded.stdout.splitlines()[-1]) if loaded.returncode == 0 else loaded.stderr
        out.write_text(json.dumps({"first": first, "second": second}, indent=1))
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


if __name__ == "__main__":
    main()
