"""A search's project folder: every file name in it, claiming new folders, and the lock.

Nothing outside :mod:`tunewidgets.engine` spells one of these names; everything else asks a
:class:`Project` for its paths. A folder holds:

* ``spec.json``: the spec that produced the search;
* ``state.json``: whether the search started and how it ended, written atomically at each;
* ``trials/<id>.json``: one file per ended trial (status, score, curves), written atomically at its end;
  with ``state.json`` the folder's truth (:mod:`tunewidgets.engine.folder.store`);
* ``data.npz`` / ``data.json``: the prepared data splits and what was done to them;
* with the user's own hypermodel: ``hypermodel.pkl`` (the build function or class, by cloudpickle),
  ``hypermodel.json`` (its name, source and fingerprint), ``space.json`` (the hyperparameters it declares)
  and ``arrays/`` (the user's arrays, one ``.npy`` each, read memory-mapped);
* ``events.jsonl``: one line per event, appended and flushed as it happens: a record of the search as it
  went, which may be damaged or deleted without losing a finished trial;
* ``keras_tuner/``: keras-tuner's own project (oracle state, per-trial checkpoints); for a search of the user's
  own keras-tuner tuner (``Search.from_tuner``) the folder is ``tunewidgets/`` inside the tuner's project, which
  holds keras-tuner's files as the tuner writes them (``keras_tuner_project.json`` says so); what keras-tuner
  names there is named in :mod:`tunewidgets.engine.folder.tuner_files` (``Project.tuner``);
* ``trials.csv`` / ``curves.csv``: tables written when a search ends;
* ``evaluation.json``: the best model's figures on the test split, once asked for;
* ``workers/``: the worker processes' files (:mod:`tunewidgets.engine.folder.protocol`);
* ``tensorboard/``: TensorBoard logs, when asked for;
* ``.lock``: held while a search runs.

One search runs in a folder at a time. The lock is an OS file lock (``flock``) on ``.lock``: the
kernel drops it when the process holding it exits, however it exits, so a crashed search never
blocks the next one. The file also records who holds it, for the error message.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import time
from pathlib import Path
from typing import Any

from ...errors import ProjectError
from .tuner_files import TunerFolder

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

SPEC_FILE = "spec.json"
STATE_FILE = "state.json"
TRIALS_DIR = "trials"
EVENTS_FILE = "events.jsonl"
TUNER_DIR = "keras_tuner"
#: tunewidgets' folder inside a keras-tuner project (``tw.live()``'s record, ``Search.from_tuner``'s search)
LIVE_DIR = "tunewidgets"
#: present in a search's folder when keras-tuner's project is the folder's parent (``Search.from_tuner``)
OUTER_TUNER_FILE = "keras_tuner_project.json"
DATA_ARRAYS = "data.npz"
DATA_META = "data.json"
HYPERMODEL_FILE = "hypermodel.pkl"
HYPERMODEL_INFO = "hypermodel.json"
SPACE_FILE = "space.json"
ARRAYS_DIR = "arrays"
TRIALS_TABLE = "trials.csv"
CURVES_TABLE = "curves.csv"
EVALUATION_FILE = "evaluation.json"
WORKERS_DIR = "workers"
TENSORBOARD_DIR = "tensorboard"
LOCK_FILE = ".lock"

#: What a search writes in its folder (removed by ``overwrite``; the lock stays).
ENTRIES = (
    SPEC_FILE,
    STATE_FILE,
    TRIALS_DIR,
    EVENTS_FILE,
    TUNER_DIR,
    DATA_ARRAYS,
    DATA_META,
    HYPERMODEL_FILE,
    HYPERMODEL_INFO,
    SPACE_FILE,
    ARRAYS_DIR,
    TRIALS_TABLE,
    CURVES_TABLE,
    EVALUATION_FILE,
    TENSORBOARD_DIR,
    WORKERS_DIR,
    OUTER_TUNER_FILE,
)


class Project:
    """The paths of one project folder."""

    def __init__(self, directory: str | os.PathLike[str]):
        self.directory = Path(directory)

    def __repr__(self) -> str:
        return f"Project({str(self.directory)!r})"

    @property
    def spec(self) -> Path:
        return self.directory / SPEC_FILE

    @property
    def state(self) -> Path:
        return self.directory / STATE_FILE

    @property
    def trial_records(self) -> Path:
        return self.directory / TRIALS_DIR

    def trial_record(self, trial_id: str) -> Path:
        """Where a trial's own record is kept once it ended."""
        return self.trial_records / f"{trial_id}.json"

    @property
    def events(self) -> Path:
        return self.directory / EVENTS_FILE

    @property
    def tuner_dir(self) -> Path:
        """keras-tuner's project: ``keras_tuner/`` in the folder, or the folder's parent for your own tuner's."""
        directory, name = self.tuner_location()
        return Path(directory) / name

    @property
    def in_tuner_project(self) -> bool:
        """The folder is ``tunewidgets/`` inside the user's own keras-tuner project (``Search.from_tuner``)."""
        return (self.directory / OUTER_TUNER_FILE).is_file()

    @property
    def tuner(self) -> TunerFolder:
        """keras-tuner's project, as the paths of its files."""
        return TunerFolder(self.tuner_dir)

    def tuner_location(self) -> tuple[str, str]:
        """keras-tuner's ``directory`` and ``project_name`` for this search."""
        if self.in_tuner_project:
            parent = self.directory.resolve().parent
            return str(parent.parent), parent.name
        return str(self.directory), TUNER_DIR

    def keep_tuner_outside(self) -> None:
        """Marks the folder as ``tunewidgets/`` inside the user's keras-tuner project (``Search.from_tuner``)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / OUTER_TUNER_FILE).write_text(json.dumps({"keras_tuner_project": ".."}) + "\n")

    @property
    def data_arrays(self) -> Path:
        return self.directory / DATA_ARRAYS

    @property
    def data_meta(self) -> Path:
        return self.directory / DATA_META

    @property
    def hypermodel(self) -> Path:
        return self.directory / HYPERMODEL_FILE

    @property
    def hypermodel_info(self) -> Path:
        return self.directory / HYPERMODEL_INFO

    @property
    def space(self) -> Path:
        return self.directory / SPACE_FILE

    @property
    def arrays(self) -> Path:
        return self.directory / ARRAYS_DIR

    @property
    def trials_table(self) -> Path:
        return self.directory / TRIALS_TABLE

    @property
    def curves_table(self) -> Path:
        return self.directory / CURVES_TABLE

    @property
    def evaluation(self) -> Path:
        return self.directory / EVALUATION_FILE

    @property
    def workers(self) -> Path:
        return self.directory / WORKERS_DIR

    @property
    def tensorboard(self) -> Path:
        return self.directory / TENSORBOARD_DIR

    def checkpoint(self, trial_id: str) -> Path:
        """Where keras-tuner keeps a trial's best-epoch weights."""
        return self.tuner.checkpoint(trial_id)

    def holds_results(self) -> bool:
        """Whether a search started here: its state, a trial's record or keras-tuner's project exists."""
        return self.state.exists() or self.tuner_dir.exists() or any(self.trial_records.glob("*.json"))

    def has_data(self) -> bool:
        return self.data_arrays.exists() and self.data_meta.exists()

    def foreign_entries(self) -> list[str]:
        """Names in the folder that a search did not write."""
        return sorted(p.name for p in self.directory.iterdir() if p.name not in (*ENTRIES, LOCK_FILE))

    def clear(self) -> None:
        """Removes everything a search wrote (not the lock, not the user's own files)."""
        for name in ENTRIES:
            p = self.directory / name
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()


_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def safe_folder_name(name: str) -> str:
    """A folder name made from a search name: letters, digits, '.', '_' and '-' only."""
    cleaned = _SAFE_NAME.sub("-", name).strip(".-") or "search"
    return cleaned[:64]


def claim_folder(base: Path, name: str) -> Path:
    """Makes a new, empty folder for a search named ``name`` under ``base`` (``name``, ``name-2``, ...).

    Atomic: two dashboards never get the same folder; nothing is ever written outside ``base``.
    """
    base = Path(base).resolve()
    stem = safe_folder_name(name)
    base.mkdir(parents=True, exist_ok=True)
    for n in range(1, 10_000):
        folder = base / (stem if n == 1 else f"{stem}-{n}")
        if not folder.is_relative_to(base):  # pragma: no cover - safe_folder_name prevents it
            raise ProjectError(f"the folder for '{name}' would be outside {base}")
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        return folder
    raise ProjectError(f"no free folder name for '{stem}' in {base}")


def next_folder(base: Path, name: str) -> Path:
    """The folder :func:`claim_folder` would make now for ``name`` (nothing is made: what Run would use)."""
    base = Path(base).resolve()
    stem = safe_folder_name(name)
    return next(folder for n in range(1, 10_000) if not (folder := base / (stem if n == 1 else f"{stem}-{n}")).exists())


class ProjectLock:
    """Held while a search runs in a directory. Use as a context manager."""

    def __init__(self, directory: Path):
        self.path = Path(directory) / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> ProjectLock:
        folder = self.path.parent
        if folder.exists() and not folder.is_dir():
            raise ProjectError(f"{folder} is a file, not a folder; choose a folder for the search's results")
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:  # a part of the path is a file, no permission, a read-only disk
            raise ProjectError(f"cannot use {folder} as the search's folder: {e.strerror or e}") from None
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = _describe(fd)
                os.close(fd)
                raise ProjectError(
                    f"another search is running in {self.path.parent}{holder}; "
                    "wait for it to end, stop it, or choose another folder"
                ) from None
        os.ftruncate(fd, 0)
        info = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}
        os.write(fd, json.dumps(info).encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            if fcntl is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> ProjectLock:
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()


def _describe(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return f" (process {info['pid']} on {info['host']})"
    except (OSError, ValueError, KeyError):
        return ""


def is_locked(directory: Path) -> bool:
    """Whether a live search holds ``directory`` now."""
    path = Path(directory) / LOCK_FILE
    if fcntl is None or not path.exists():
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def spec_differences(a: dict[str, Any], b: dict[str, Any], prefix: str = "") -> list[str]:
    """The dotted paths of the fields where two specs' JSON forms differ (a knob counts as one field)."""
    out = []
    for key in sorted(set(a) | set(b)):
        va, vb = a.get(key), b.get(key)
        if isinstance(va, dict) and isinstance(vb, dict) and not ({"min", "choices"} & (set(va) | set(vb))):
            out.extend(spec_differences(va, vb, f"{prefix}{key}."))
        elif va != vb:
            out.append(f"{prefix}{key}")
    return out


__all__ = ["spec_differences", "ENTRIES", "Project", "ProjectLock", "claim_folder", "is_locked", "safe_folder_name"]
