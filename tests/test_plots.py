"""Plots: plot data from known trials, figure traces, throttled live updates, the HTML report."""

from __future__ import annotations

import re
import time

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
    assert (
        d.completed.text[4] == "" and "learning_rate = 0.01" in d.completed.text[5] and "trial 2" in d.completed.text[5]
    )
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
    assert fig.data[0].hovertemplate == "%{text}<extra></extra>"
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
    index = trace.customdata.index("007")
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
    curves = views.curves.data
    assert len(curves[0].x) == 498 * 50 + 497  # every completed point, gaps between trials
    assert len(curves[1].x) == 2 * 50 + 1
    assert curves[2].x == ()  # nothing running at the end
    assert len(views.best.data[0].x) == 498
    assert len(views._table_trials) == 500
    assert len(views.parallel.data[0].dimensions[0].values) == 498


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
