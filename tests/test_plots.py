"""Plots: plot data from known trials, figure traces, throttled live updates, the HTML report."""

from __future__ import annotations

import re
import time

import numpy as np
import plotly.graph_objects as go
import pytest
from plotly.callbacks import InputDeviceState, Points

from tunewidgets.engine.folder.record import SearchRecord
from tunewidgets.events import (
    EndReason,
    EpochEnded,
    SearchEnded,
    SearchStarted,
    TrialEnded,
    TrialStarted,
    TrialStatus,
)
from tunewidgets.plots import _data as data
from tunewidgets.plots import _figures as figures
from tunewidgets.plots.live import LiveViews, Throttle


def stream(n_trials, n_epochs, *, fail=(), running_last=False, objective="val_accuracy", direction="max"):
    """A recorded search: trial i scores (i % 7) / 10 + lr-dependent bit; trials in ``fail`` fail."""
    yield SearchStarted("s", objective, direction, "random", n_trials, n_epochs, False)
    for i in range(n_trials):
        tid = f"{i:03d}"
        lr = 10 ** -(1 + i % 4)
        hps = {"learning_rate": lr, "units": 16 * (1 + i % 3), "activation": ["relu", "tanh"][i % 2], "tuner/epochs": 3}
        yield TrialStarted(tid, hps)
        final = (i % 7) / 10
        for e in range(1, n_epochs + 1):
            acc = final * e / n_epochs
            yield EpochEnded(tid, e, {"loss": 1 - acc, "val_loss": 1.1 - acc, "accuracy": acc + 0.01, objective: acc})
        if running_last and i == n_trials - 1:
            return
        if i in fail:
            yield TrialEnded(tid, TrialStatus.FAILED, None, None, 1.0, "loss became nan at epoch 2")
        else:
            yield TrialEnded(tid, TrialStatus.COMPLETED, final, n_epochs, 1.0)
    yield SearchEnded(EndReason.COMPLETED)


def record_of(events):
    record = SearchRecord()
    for e in events:
        record.apply(e)
    return record


@pytest.fixture
def record():
    return record_of(stream(10, 4, fail={2}, running_last=True))


def test_curves_data_groups_trials_by_how_they_are_drawn(record):
    d = data.curves_data(record, "val_accuracy")
    assert d.completed.trials() == [f"{i:03d}" for i in range(9) if i != 2]
    assert d.failed.trials() == ["002"]
    assert d.running.trials() == ["009"]
    # best: highest final score among completed = trial 6 (6/10)
    assert d.best_trial == "006" and d.best.trials() == ["006"]
    assert d.best.y == pytest.approx((0.15, 0.3, 0.45, 0.6))
    assert d.best_pair.trials() == ["006"] and d.best_pair.y == pytest.approx((0.16, 0.31, 0.46, 0.61))
    # 8 completed trials of 4 epochs with 7 gaps
    assert len(d.completed.x) == 8 * 4 + 7 and d.completed.x.count(None) == 7
    # the whole hover text on a trial's last point, its number on the others (many trials: a tenth of the bytes)
    assert d.completed.text[4] == "" and d.completed.text[5:8] == ("<b>trial 2</b>",) * 3
    assert "learning_rate = 0.01" in d.completed.text[8] and "trial 2" in d.completed.text[8]
    assert "units = 16" in d.running.text[0]  # the running trial's every point says all
    assert data.curves_data(record, "loss", selected="003").selected.y == pytest.approx((0.925, 0.85, 0.775, 0.7))


def test_metrics_objective_first(record):
    assert data.metrics_of(record) == ["val_accuracy", "accuracy", "val_loss", "loss"]


def test_best_so_far_data(record):
    d = data.best_so_far_data(record)
    completed = [i for i in range(9) if i != 2]
    assert d.numbers == tuple(i + 1 for i in completed)
    scores = [(i % 7) / 10 for i in completed]
    assert d.scores == pytest.approx(scores)
    assert d.running_best == pytest.approx([max(scores[: k + 1]) for k in range(len(scores))])
    assert d.failed_numbers == (3,)
    minimized = record_of(stream(5, 2, objective="val_loss", direction="min"))
    d = data.best_so_far_data(minimized)
    assert d.running_best == pytest.approx([0.0, 0.0, 0.0, 0.0, 0.0])


def test_parallel_data_encodes_categories_and_log_axes(record):
    d = data.parallel_data(record, {"learning_rate"})
    labels = [dim.label for dim in d.dimensions]
    assert labels == ["learning_rate (log)", "units", "activation", "val_accuracy"]
    lr = d.dimensions[0]
    assert lr.values[:4] == pytest.approx((-1, -2, -4, -1))  # trials 0, 1, 3, 4 (2 failed)
    assert lr.ticktext == ("1e-4", "1e-3", "1e-2", "1e-1")
    act = d.dimensions[2]
    assert act.ticktext == ("relu", "tanh") and set(act.values) == {0.0, 1.0}
    assert d.scores == d.dimensions[-1].values and len(d.scores) == 8


def test_scatter_data(record):
    d = data.scatter_data(record, "learning_rate", {"learning_rate"})
    assert d.log and not d.categorical and len(d.x) == 8
    assert data.scatter_data(record, "activation").categorical


def test_importance_finds_the_hyperparameter_that_matters():
    record = SearchRecord()
    record.apply(SearchStarted("s", "val_loss", "min", "random", 40, 1, False))
    import random

    rng = random.Random(0)
    for i in range(40):
        hps = {"dropout": rng.random(), "units": rng.choice([8, 16, 32]), "activation": rng.choice(["relu", "tanh"])}
        record.apply(TrialStarted(str(i), hps))
        record.apply(TrialEnded(str(i), TrialStatus.COMPLETED, (hps["dropout"] - 0.3) ** 2, 1, 1.0))
    d = data.importance_data(record)
    assert d.names[0] == "dropout" and d.importances[0] > 0.8
    assert sum(d.importances) == pytest.approx(1.0)
    assert "permutation importance" in d.method and d.n_trials == 40
    few = data.importance_data(record_of(stream(3, 1)))
    assert few.names == () and "needs at least 5 completed trials (has 3)" in few.message


def test_table_frame_sorts_best_first(record):
    frame = data.table_frame(record)
    assert list(frame["number"][:2]) == [7, 6]  # scores 0.6 and 0.5
    assert frame["status"].iloc[-1] in ("failed", "running")
    by_number = data.table_frame(record, "number")
    assert list(by_number["number"]) == list(range(1, 11))


def test_figure_traces(record):
    fig = figures.curves_figure(data.curves_data(record))
    assert [t.uid for t in fig.data] == list(figures.CURVE_TRACES)
    assert fig.data[3].name == "best trial" and fig.data[3].line.color == figures.COLORS["best"]
    assert fig.data[1].marker.symbol == "x"
    assert fig.layout.title.text == "Training curves: val_accuracy"
    assert fig.data[4].name == "best trial (train)"
    assert fig.data[0].hovertemplate == "%{text}<br>epoch %{x}: %{y:.4g}<extra></extra>"
    best = figures.best_so_far_figure(data.best_so_far_data(record))
    assert best.data[1].line.shape == "hv" and best.data[1].y[-1] == pytest.approx(0.6)
    par = figures.parallel_figure(data.parallel_data(record, {"learning_rate"}))
    assert [d.label for d in par.data[0].dimensions][-1] == "val_accuracy"
    sc = figures.scatter_figure(data.scatter_data(record, "learning_rate", {"learning_rate"}), "val_accuracy")
    assert sc.layout.xaxis.type == "log"
    imp = figures.importance_figure(data.importance_data(record))
    assert "random-forest permutation importance" in imp.layout.title.text


def test_live_views_update_in_place_and_follow_selection(record):
    views = LiveViews(record, interval=0.0)
    views.reset(record)
    curves_trace = views.curves.data[0]
    assert len(curves_trace.x) == 8 * 4 + 7
    views.select("004")
    assert set(views.curves.data[5].customdata) == {"004"}
    assert views.best.data[3].x == (5,)
    assert views.table.selected_rows == [views._table_trials.index("004")]
    # clicking a point of another trial selects it
    trace = views.best.data[0]
    index = list(trace.customdata).index("007")
    trace._dispatch_on_click(Points([index], [trace.x[index]], [trace.y[index]], 0), InputDeviceState())
    assert views.selected == "007"
    views.table.selected_rows = [views._table_trials.index("001")]
    assert views.selected == "001"
    assert views.curves.data[0] is curves_trace  # updated, not rebuilt


def test_throttle_bounds_flushes_and_flushes_after_the_last_request():
    calls = []
    throttle = Throttle(lambda: calls.append(time.monotonic()), interval=0.05)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 0.5:
        throttle.request()
    time.sleep(0.2)
    elapsed = time.monotonic() - t0
    assert 5 <= len(calls) <= elapsed / 0.05 + 2
    assert calls[-1] > t0 + 0.5  # the trailing flush came after the last request
    gaps = [b - a for a, b in zip(calls, calls[1:], strict=False)]
    assert min(gaps) >= 0.049


def test_a_long_search_stream_stays_bounded_and_complete():
    """500 trials x 50 epochs replayed at full speed through the live views."""
    record = SearchRecord()
    views = LiveViews(record, interval=0.25)
    views.reset(record)
    flushes_before = views.throttle.flushes
    t0 = time.monotonic()
    n = 0
    for event in stream(500, 50, fail={13, 250}):
        record.apply(event)
        views.on_event(event)
        n += 1
    assert views.settle(60)
    elapsed = time.monotonic() - t0
    flushes = views.throttle.flushes - flushes_before
    assert n == 1 + 500 * 52 + 1
    assert flushes <= elapsed / 0.25 + 3, (flushes, elapsed)
    assert views.throttle.interval == 0.25
    completed = drawn(views.curves, "completed")
    assert len(completed) == 498 and all(n == 50 for n in completed.values())  # every completed point
    assert sorted(drawn(views.curves, "failed")) == ["013", "250"]
    assert drawn(views.curves, "running") == {}  # nothing running at the end
    chunks = [t for t in views.curves.data if t.meta == "completed"]
    assert len(chunks) == 20 and {t.type for t in chunks[12:]} == {"scattergl"}  # WebGL past 300 trials
    assert sum(t.showlegend is not False for t in chunks) == 1
    assert len(drawn(views.best, "trials")) == 498
    assert len(views._table_trials) == 500
    assert len(views.parallel.data[0].dimensions[0].values) == 498


def same(a, b):
    return np.array_equal(np.asarray(a, dtype=float), np.asarray(b, dtype=float), equal_nan=True)


def drawn(fig, key):
    """Points drawn per trial, over every trace of a group (``meta``)."""
    counts = {}
    for trace in fig.data:
        if trace.meta == key:
            for trial_id in trace.customdata if trace.customdata is not None else ():
                if trial_id is not None:
                    counts[trial_id] = counts.get(trial_id, 0) + 1
    return counts


def test_chunks_rewrite_one_small_trace_per_trial_and_merge_sealed_ones():
    from tunewidgets.plots._chunks import Chunks

    fig = go.Figure([figures.curve_trace("completed", uid="completed")])
    chunks = Chunks(fig, fig.data[0], lambda gl: figures.curve_trace("completed", gl), size=5, merge=4, gl_after=12)
    written = []
    for i in range(47):
        chunks.put(f"{i:03d}", data.Line((1, 2), (0.5, 0.6), ("a", "b"), (f"{i:03d}",) * 2))
        before = {id(t): t.x for t in fig.data}
        chunks.flush()
        written.append(sum(id(t) not in before or not same(before[id(t)], t.x) for t in fig.data))
        assert chunks.dirty == set()
    # 47 trials: 2 merged traces of 20, then a sealed chunk of 5 and the open one of 2
    assert [len(p) for p in chunks.parts] == [20, 20, 5, 2] and len(fig.data) == 4
    assert sorted(drawn(fig, "completed")) == [f"{i:03d}" for i in range(47)]
    # each trial's arrival rewrote one trace; a merge (every 20 trials) one more, the merged one
    assert [i for i, n in enumerate(written) if n != 1] == [20, 40] and written[20] == written[40] == 2
    assert [t.type for t in fig.data] == ["scatter", "scattergl", "scattergl", "scattergl"]  # opened past 12
    chunks.remove("003")
    chunks.put("046", data.Line((1,), (0.1,), ("c",), ("046",)))
    chunks.flush()
    assert "003" not in drawn(fig, "completed") and drawn(fig, "completed")["046"] == 1
    chunks.clear()
    chunks.flush()
    assert len(fig.data) == 1 and len(fig.data[0].x) == 0


def test_report_is_self_contained(tmp_path):
    import tunewidgets as tw
    from tunewidgets.engine.folder.eventlog import EventLog
    from tunewidgets.plots import write_report

    d = tmp_path / "search"
    d.mkdir()
    tw.Spec().replace(name="reported").save(d / "spec.json")
    log = EventLog(d / "events.jsonl")
    for e in stream(12, 5, fail={3}):
        log(e)
    log.close()
    out = write_report(d, tmp_path / "report.html", evaluate=False)
    text = out.read_text()
    assert not re.search(r"<script[^>]+src=", text), "loads a script from elsewhere"
    assert text.count("Plotly.newPlot") >= 7
    assert "plotly.js v" in text or "plotly.min.js" in text or len(text) > 1_000_000
    for needle in (
        "reported",
        "Best hyperparameters",
        "Training curves: val_accuracy",
        "Best so far",
        "Parallel coordinates",
        "Hyperparameter importance",
        "learning_rate vs objective",
        "11 completed, 1 failed, 0 stopped",
        'class="dataframe trials"',
    ):
        assert needle in text, needle
    assert out.stat().st_size == len(out.read_bytes()) > 0


def test_incremental_views_draw_what_the_whole_record_says_whatever_the_order_of_events():
    """Trials of 4 workers end out of order, fail, are pruned, are tried again; after every redraw the
    live curves and best so far show what the plot data of the whole record gives."""
    import random

    from tunewidgets.events import EpochEnded, TrialEnded, TrialStarted

    rng = random.Random(7)
    record = SearchRecord()
    views = LiveViews(record, interval=0.0)
    views.throttle.request = lambda: None  # redraws called here, one at a time
    first = SearchStarted("s", "val_loss", "min", "random", 700, 5, False)
    record.apply(first)
    views.reset(record)
    running: dict[str, int] = {}
    started = 0
    for step in range(9000):
        if running and (len(running) >= 4 or rng.random() < 0.5 or started >= 700):
            tid = rng.choice(sorted(running))
            running[tid] += 1
            events = [EpochEnded(tid, running[tid], {"loss": rng.random(), "val_loss": rng.random()})]
            if running[tid] >= rng.randint(2, 5):
                status = rng.choice([TrialStatus.COMPLETED] * 6 + [TrialStatus.FAILED, TrialStatus.PRUNED])
                score = None if status is TrialStatus.FAILED else round(rng.random(), 2)  # ties happen
                events.append(TrialEnded(tid, status, score, running.pop(tid), 1.0))
        elif started < 700:
            tid = f"{started:03d}" if rng.random() < 0.97 or not record.trials else rng.choice(sorted(record.trials))
            started += tid == f"{started:03d}"
            running[tid] = 0
            events = [TrialStarted(tid, {"units": rng.choice([8, 16, 32])})]  # a trial tried again starts afresh
        else:
            break
        for event in events:
            record.apply(event)
            views.on_event(event)
        if step % 37 == 0 or not running:
            views.redraw()
            whole = data.curves_data(record, "val_loss")
            for key in ("completed", "failed", "running", "pruned"):
                assert drawn(views.curves, key) == _per_trial(getattr(whole, key)), (step, key)
            best_trace = views.curves.data[[t.meta for t in views.curves.data].index("best")]
            assert tuple(best_trace.customdata) == whole.best.trial_ids
            best = data.best_so_far_data(record)
            assert sorted(drawn(views.best, "trials")) == sorted(best.trial_ids)
            assert sorted(drawn(views.best, "failed")) == sorted(
                t.trial_id for t in record.trials.values() if t.status is TrialStatus.FAILED
            )
            line = next(t for t in views.best.data if t.meta == "best")
            steps = dict(zip(line.x, line.y, strict=True))
            for number, value in zip(best.numbers, best.running_best, strict=True):
                at = max(n for n in steps if n <= number)
                assert steps[at] == value, (step, number)
    assert started == 700 and not running
    assert any(len(parts) > 25 for parts in views._curves_view.groups["completed"].parts)  # merged chunks too


def _per_trial(line):
    counts = {}
    for trial_id in line.trial_ids:
        if trial_id is not None:
            counts[trial_id] = counts.get(trial_id, 0) + 1
    return counts


def test_the_curves_title_says_what_is_coming_then_the_metric():
    from tunewidgets.events import EpochEnded, TrialStarted

    record = SearchRecord()
    views = LiveViews(record, interval=0.0)
    assert views.curves.layout.title.text == "Training curves: val_loss"  # nothing coming: the metric
    record.apply(SearchStarted("s", "val_accuracy", "max", "random", 3, 4, False))
    views._waiting_note = "Starting: 3 trials of up to 4 epochs"
    views.redraw()
    assert views.curves.layout.title.text.startswith("Starting: 3 trials")
    for event in (TrialStarted("0", {}), EpochEnded("0", 1, {"val_accuracy": 0.5})):
        record.apply(event)
    views.redraw()
    assert views.curves.layout.title.text == "Training curves: val_accuracy"
