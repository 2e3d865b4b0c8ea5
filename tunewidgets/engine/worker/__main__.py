"""``python -m tunewidgets.engine.worker``: one worker process (see :mod:`tunewidgets.engine.worker.main`)."""

import sys

from .main import run

if __name__ == "__main__":
    sys.exit(run(hard_exit=True))
