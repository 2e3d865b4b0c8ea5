"""Time from Run to the first epoch's point, in fresh Jupyter kernels, as a person meets it.

In each fresh kernel (ipykernel, started by jupyter_client): import tunewidgets, show a dashboard of
the quickstart spec (``display(dash)``, what a notebook does with the cell's value), read for
``--read`` seconds, press Run (``dash.bar.run_button.click()``), and time

* how long Run holds the kernel (the click's return),
* the first ``EpochEnded`` event the dashboard receives.

Two ways, alternated, ``--reps`` fresh kernels each, medians reported:

* ``shown``: as above (the dashboard starts a spare worker and makes its views when shown);
* ``cold`` (the baseline): the same, with the dashboard's warm-up turned off (``TUNEWIDGETS_KEEP_WARM=0``
  and no views made before Run), which is what Run met before the warm start existed.

    python bench/first_epoch.py --json bench/results/first_epoch.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CELL = """
import time, tempfile, json
import tunewidgets as tw
from tunewidgets.events import EpochEnded
from IPython.display import display
spec = tw.Spec.from_file({spec!r}).replace(**{{"training.epochs": 3, "tuner.max_trials": 2}})
dash = tw.Dashboard(spec, base_dir=tempfile.mkdtemp())
if {warm}:
    display(dash)
time.sleep({read})
first = {{}}
_on = dash._on_event
def _seen(event, _on=_on):
    if isinstance(event, EpochEnded):
        first.setdefault("epoch", time.perf_counter())
    _on(event)
dash._on_event = _seen
t0 = time.perf_counter()
dash.bar.run_button.click()
returned = time.perf_counter() - t0
while "epoch" not in first and time.perf_counter() - t0 < 120:
    time.sleep(0.002)
dash.wait(120)
print("RESULT", json.dumps({{"run_returned_s": returned, "first_epoch_s": first["epoch"] - t0}}))
"""


def one_kernel(warm: bool, read: float) -> dict[str, float]:
    from jupyter_client.manager import start_new_kernel

    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    if not warm:
        env["TUNEWIDGETS_KEEP_WARM"] = "0"
    km, kc = start_new_kernel(kernel_name="python3", env=env, cwd=str(ROOT))
    lines: list[str] = []
    try:
        code = CELL.format(spec=str(ROOT / "examples/specs/quickstart.json"), warm=warm, read=read)
        reply = kc.execute_interactive(
            code,
            timeout=300,
            output_hook=lambda msg: (
                lines.append(msg["content"].get("text", "")) if msg["msg_type"] == "stream" else None
            ),
        )
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"the cell failed: {reply['content']}")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    result = [line for line in "".join(lines).splitlines() if line.startswith("RESULT ")]
    return json.loads(result[-1][len("RESULT ") :])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--read", type=float, default=8.0, help="seconds between showing the dashboard and Run")
    parser.add_argument("--json")
    args = parser.parse_args()
    runs: dict[str, list[dict[str, float]]] = {"cold": [], "shown": []}
    for _ in range(args.reps):
        for name in ("cold", "shown"):
            runs[name].append(one_kernel(name == "shown", args.read))
            print(name, runs[name][-1], flush=True)
    report: dict[str, object] = {
        "reps": args.reps,
        "read_s": args.read,
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "python": sys.version.split()[0],
        "date": time.strftime("%Y-%m-%d"),
    }
    for name, values in runs.items():
        report[name] = {
            key: {"median": statistics.median(v[key] for v in values), "all": [v[key] for v in values]}
            for key in ("run_returned_s", "first_epoch_s")
        }
    cold = report["cold"]["first_epoch_s"]["median"]  # type: ignore[index]
    shown = report["shown"]["first_epoch_s"]["median"]  # type: ignore[index]
    report["first_epoch_ratio_shown_vs_cold"] = shown / cold
    print(
        f"first epoch after Run, median of {args.reps} fresh kernels: shown {shown:.2f} s, cold {cold:.2f} s "
        f"(ratio {shown / cold:.2f}); Run returned in "
        f"{report['shown']['run_returned_s']['median'] * 1000:.0f} ms"  # type: ignore[index]
    )
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
