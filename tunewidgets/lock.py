"""One search per project directory, with a lock a dead process does not keep.

The lock is an OS file lock (``flock``) on ``D/.lock``: the kernel drops it when
the process holding it exits, however it exits, so a crashed search never blocks
the next one. The file also records who holds it, for the error message.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any

from .errors import ProjectError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = ".lock"


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
