"""Settings a search can check before it starts, against this machine: how many
workers it can run, whether its checkpoints fit on the disk. Each problem names the setting."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from .._backend import backend_missing
from .._memory import available_mb
from ..errors import Issue, ProjectError
from ..spec import Spec
from ..spec.budget import planned_trials
from .warm import warm_workers

#: What one worker process takes, TensorFlow and a small model (measured: 595 to 611 MB on the quickstart).
WORKER_MB = 600.0


def backend_issues() -> list[Issue]:
    """Keras' backend must be installed where the workers run (this machine): said before a search starts."""
    missing = backend_missing()
    return [Issue("backend", missing)] if missing else []


def worker_issues(spec: Spec, *, local: bool = True) -> list[Issue]:
    """Workers this machine can run: no more than the trials, its cores, and its free memory allow (on a
    cluster, ``local`` False: no more than the trials)."""
    workers = spec.tuner.workers
    if workers <= 1:
        return []
    issues = []
    trials = planned_trials(spec)
    cores = os.cpu_count() or 1
    if trials is not None and workers > trials:
        issues.append(
            Issue(
                "tuner.workers",
                f"{workers} workers for {trials} trial{'s' if trials != 1 else ''}: at most {trials} can train at once",
            )
        )
    if not local:
        return issues
    if workers > cores:
        issues.append(Issue("tuner.workers", f"{workers} workers on a machine with {cores} cores: use at most {cores}"))
    # spare workers waiting for this process's next search (a dashboard shown) hold memory they bring along
    free = available_mb() + min(workers, warm_workers.waiting()) * WORKER_MB
    fits = int(free // WORKER_MB)
    if workers > max(fits, 1):
        issues.append(
            Issue(
                "tuner.workers",
                f"{workers} workers need about {workers * WORKER_MB / 1000:.1f} GB of memory (about "
                f"{WORKER_MB:.0f} MB each) and {free / 1000:.1f} GB are free: use at most {max(fits, 1)}",
            )
        )
    return issues


#: Disk a search keeps free beside its largest checkpoint (its event log, tables, keras-tuner's files).
DISK_MARGIN = 50 * 10**6


def _largest_checkpoint(spec: Spec, dataset: Any) -> int:
    from ..spec.datasets import output_units
    from ..spec.size import largest_model

    return largest_model(spec, dataset.input_shape, output_units(dataset.task, dataset.n_classes)).checkpoint_bytes


def check_disk(spec: Spec, dataset: Any, directory: Path) -> None:
    """Refuses to start a search whose largest model's checkpoint would not fit on the folder's disk."""
    from ..spec.size import human_bytes

    size = _largest_checkpoint(spec, dataset)
    free = shutil.disk_usage(directory).free
    if free < size + DISK_MARGIN:
        raise ProjectError(
            f"not enough free disk in {directory}: the largest model's checkpoint takes about "
            f"{human_bytes(size)}, and the search keeps {human_bytes(DISK_MARGIN)} more for its record and "
            f"keras-tuner's files; {human_bytes(free)} are free. Free some space or choose a folder on another disk"
        )


def disk_notes(spec: Spec, dataset: Any, directory: Path) -> list[str]:
    """A note when every trial's checkpoint might not fit on the disk (each trial keeps its own)."""
    from ..spec.size import human_bytes

    need = _largest_checkpoint(spec, dataset) * planned_trials(spec)
    free = shutil.disk_usage(directory).free
    if need <= free:
        return []
    return [
        f"every trial keeps its checkpoint: up to {human_bytes(need)} if every model were the largest, "
        f"and {human_bytes(free)} of disk are free; a trial that finds no room fails"
    ]


__all__ = ["DISK_MARGIN", "check_disk", "disk_notes", "WORKER_MB", "backend_issues", "worker_issues"]
