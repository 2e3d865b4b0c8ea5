"""What a notebook's kernel holds after a dashboard's search: scikit-learn (and SciPy) work in the scikit-learn
helper process, nbformat is imported only when something reads it. Each check runs a fresh Python, as a kernel is."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from tunewidgets import sklearn_helper
from tunewidgets.data.prepare import prepare
from tunewidgets.errors import DataError, Issue, SpecError
from tunewidgets.spec import Spec

ROOT = Path(__file__).resolve().parent.parent


def fresh_python(code: str, cwd: Path, timeout: float = 240) -> dict:
    """Runs ``code`` in a fresh Python (no scikit-learn imported) and returns the JSON it printed last."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_dashboards_search_leaves_scikit_learn_and_nbformat_out_of_the_kernel(tmp_path):
    found = fresh_python(
        f"""
        import json, sys
        import tunewidgets as tw

        spec = tw.Spec.from_file({str(ROOT / "examples/specs/quickstart.json")!r}).replace(**{{
            "tuner.max_trials": 2, "training.epochs": 2, "data.samples": 120}})
        dash = tw.Dashboard(spec, base_dir="runs")
        dash.warm_up()
        dash.run()
        results = dash.wait()
        dash.preview_data()
        figure = tw.plots.training_curves(results)
        assert dash.views  # the live views (FigureWidgets) were made and drawn
        loaded = {{m.split(".")[0] for m in sys.modules}}
        print(json.dumps({{
            "trials": len(results.trials), "rows": len(results.dataset.x_train),
            "report": dash.form.data_report.value,
            "held": sorted(loaded & {{"sklearn", "scipy", "jsonschema", "lark", "keras", "tensorflow"}}),
            "nbformat": type(sys.modules["nbformat"]).__name__,
        }}))
        """,
        tmp_path,
    )
    assert found["trials"] == 2 and found["rows"] > 0
    assert "What the search will use" in found["report"]
    assert found["held"] == []  # the code before imported scikit-learn, SciPy, jsonschema and lark here
    assert found["nbformat"] == "_OnFirstUse"


def test_the_helper_prepares_what_this_process_would(tmp_path):
    spec = Spec().replace(**{"data.name": "wine", "data.test_split": 0.2})
    found = fresh_python(
        """
        import json, pickle, sys
        from tunewidgets import sklearn_helper
        from tunewidgets.spec import Spec

        spec = Spec().replace(**{"data.name": "wine", "data.test_split": 0.2})
        dataset = sklearn_helper.call(sklearn_helper.PREPARE, spec.data, None)
        with open("dataset.pickle", "wb") as f:
            pickle.dump(dataset, f)
        print(json.dumps({"sklearn here": "sklearn" in sys.modules}))
        """,
        tmp_path,
    )
    assert found == {"sklearn here": False}
    there = pickle.loads((tmp_path / "dataset.pickle").read_bytes())
    here = prepare(spec.data)
    for name in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(there, name), getattr(here, name))
    assert there.report == here.report and there.class_names == here.class_names


def test_bad_data_is_named_by_its_field_from_the_helper(tmp_path):
    (tmp_path / "one.csv").write_text("a,b\n1,2\n3,4\n")
    found = fresh_python(
        """
        import json
        from tunewidgets import sklearn_helper
        from tunewidgets.errors import DataError
        from tunewidgets.spec import Spec

        answers = {}
        for name, changes in {
            "missing file": {"data.source": "csv", "data.path": "nowhere.csv", "data.target": "b"},
            "missing target": {"data.source": "csv", "data.path": "one.csv", "data.target": "price"},
        }.items():
            try:
                sklearn_helper.call(sklearn_helper.PREPARE, Spec().replace(**changes).data, None)
            except DataError as e:
                answers[name] = [[i.path, i.message] for i in e.issues]
        print(json.dumps(answers))
        """,
        tmp_path,
    )
    assert [path for path, _ in found["missing file"]] == ["data.path"]
    assert "nowhere.csv" in found["missing file"][0][1]
    assert [path for path, _ in found["missing target"]] == ["data.target"]


def test_a_helper_that_ended_is_replaced(tmp_path):
    found = fresh_python(
        """
        import json, os, signal, time
        from tunewidgets import sklearn_helper
        from tunewidgets.spec import Spec

        sklearn_helper.start()
        first = sklearn_helper._waiting.process
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        dataset = sklearn_helper.call(sklearn_helper.PREPARE, Spec().data, None)
        second = sklearn_helper._waiting.process
        print(json.dumps({"rows": len(dataset.x_train), "replaced": second.pid != first.pid,
                          "alive": second.poll() is None}))
        """,
        tmp_path,
    )
    assert found == {"rows": found["rows"], "replaced": True, "alive": True} and found["rows"] > 0


def test_a_waiting_helper_leaves_when_its_parent_ends(tmp_path):
    parent = subprocess.Popen(
        [sys.executable, "-c", "from tunewidgets import sklearn_helper as h; h.start(); print(h._waiting.process.pid)"],
        stdout=subprocess.PIPE,
        text=True,
    )
    helper_pid = int(parent.communicate(timeout=60)[0].strip())
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and Path(f"/proc/{helper_pid}").exists():
        time.sleep(0.2)
    assert not Path(f"/proc/{helper_pid}").exists() or "zombie" in Path(f"/proc/{helper_pid}/status").read_text()


def test_only_tunewidgets_functions_run_in_the_helper():
    with pytest.raises(ValueError, match="runs only"):
        sklearn_helper.call("os:system", "true")


def test_spec_errors_pickle_with_their_issues():
    error = DataError([Issue("data.path", "no such file"), Issue("data.target", "no such column")])
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is DataError and again.issues == error.issues and str(again) == str(error)
    assert pickle.loads(pickle.dumps(SpecError(Issue("x", "y")))).issues == [Issue("x", "y")]


def test_nbformat_loads_when_read_and_plotly_reads_it(tmp_path):
    found = fresh_python(
        """
        import json, sys
        import tunewidgets.plots
        import plotly.basewidget
        before = "jsonschema" in sys.modules
        renderers = sys.modules["plotly.io._renderers"]
        version = renderers.nbformat.__version__  # what fig.show() reads
        import nbformat
        import nbformat.v4
        notebook = nbformat.v4.new_notebook()
        nbformat.validate(notebook)
        print(json.dumps({"before": before, "version": version, "real": type(sys.modules["nbformat"]).__name__,
                          "same": nbformat.__version__ == version}))
        """,
        tmp_path,
    )
    assert found == {"before": False, "version": found["version"], "real": "module", "same": True}


def test_a_kernels_interrupt_leaves_the_waiting_helper_alone(tmp_path):
    # Jupyter interrupts a kernel by signalling its process group, the helper included
    found = fresh_python(
        """
        import json, os, signal, time
        from tunewidgets import sklearn_helper
        from tunewidgets.spec import Spec

        sklearn_helper.start()
        helper = sklearn_helper._waiting.process
        time.sleep(3)  # its imports under way or done
        os.kill(helper.pid, signal.SIGINT)
        time.sleep(0.5)
        dataset = sklearn_helper.call(sklearn_helper.PREPARE, Spec().data, None)
        print(json.dumps({"same": sklearn_helper._waiting.process.pid == helper.pid, "rows": len(dataset.x_train)}))
        """,
        tmp_path,
    )
    assert found["same"] is True and found["rows"] > 0
