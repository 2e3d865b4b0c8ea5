"""Run as the first cell of each notebook the notebook tests execute: every message the kernel sends
is also serialized as strict JSON, and each one that holds NaN or infinity is written to ``$TW_NONFINITE_LOG``.

Jupyter's own packer does not fail on such a message: it warns, and sends a cleaned copy or nothing the
browser can read. A widget message with a non-finite number is a bug the notebook tests should see.
"""

import json
import os


def _install() -> None:
    kernel = getattr(get_ipython(), "kernel", None)  # noqa: F821 - IPython defines it for startup files
    log = os.environ.get("TW_NONFINITE_LOG")
    if kernel is None or not log:
        return
    session = kernel.session
    pack = session.pack

    def strict(message):
        try:
            json.dumps(message, allow_nan=False, default=str)
        except ValueError as e:
            with open(log, "a", encoding="utf-8") as out:
                out.write(json.dumps({"error": str(e), "message": str(message)[:2000]}) + "\n")
        return pack(message)

    session.pack = strict


_install()
