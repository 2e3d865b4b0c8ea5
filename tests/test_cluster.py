"""Trials on a real Dask cluster: ``dask scheduler`` and two ``dask worker`` processes, each worker on a host of
its own (a network namespace as root) with an empty disk over the temporary folder, so it cannot see the
search's folder (tests/cluster_hosts.py). Nothing is mocked: the searches train real tiny models there."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import threading
import time

import cloudpickle
import keras
import numpy as np
import pytest

import tunewidgets as tw
from tunewidgets.engine import Search
from tunewidgets.events import EndReason, EpochEnded, TrialEnded, TrialStarted
from tunewidgets.spec import Fixed

from .cluster_hosts import Hosts, isolation, leftovers
from .conftest import collect, tiny
from .keras_callbacks import SlowEpochs

pytestmark = pytest.mark.slow

# the hypermodel below travels by value, as a notebook's does
cloudpickle.register_pickle_by_value(sys.modules[__name__])

KIND, WHY_NOT = isolation()


@pytest.fixture(scope="module")
def hosts(tmp_path_factory):
    """The scheduler on the search's machine and two workers, w1 and w2, each on a host of its own."""
    if not KIND:
        pytest.skip(f"no worker can be kept apart from the search's folder here: {WHY_NOT}")
    made = Hosts(KIND, tmp_path_factory.getbasetemp())
    try:
        made.start_scheduler()
        made.start_worker("w1")
        made.start_worker("w2")
        made.wait_for_workers(2)
        yield made
    finally:
        made.close()
        if KIND == "netns":
            assert leftovers(made.tag) == []


@pytest.fixture(scope="module")
def client(hosts):
    from distributed import Client

    with Client(hosts.address, timeout=30, set_as_default=False) as c:
        yield c


def spec(quickstart, trials=8, epochs=3, **changes):
    return tiny(quickstart, trials=trials, epochs=epochs, **{"tuner.workers": 2, **changes})


def worker_pids(client) -> dict[str, int]:
    """Each worker's name -> the process id that trains its tasks."""
    names = {a: w["name"] for a, w in client.scheduler_info(n_workers=-1)["workers"].items()}
    return {names[a]: pid for a, pid in client.run(os.getpid).items()}


def sees(path: str) -> bool:
    return os.path.exists(path)


def left_on_disk() -> list[str]:
    """What a search left in a worker's temporary folder."""
    import tempfile

    return [name for name in os.listdir(tempfile.gettempdir()) if "tunewidgets" in name]


def curves_per_trial(results) -> dict[str, int]:
    losses = results.curves[results.curves["metric"] == "loss"]
    return losses.groupby("trial_id").size().to_dict()


def test_a_search_trains_on_both_workers_with_every_epoch_recorded_and_the_scores_of_a_local_search(
    tmp_path, quickstart, hosts, client
):
    folder = tmp_path / "on-the-cluster"
    before = client.run(left_on_disk)  # (a worker killed by an earlier test could not remove its own)
    search = Search(spec(quickstart), folder, cluster=hosts.address)
    events = collect(search)
    results = search.run()
    assert search.end_reason is EndReason.COMPLETED
    trials = results.trials
    assert trials["status"].tolist() == ["completed"] * 8
    assert set(trials["worker"]) == {"w1", "w2"}  # the Dask workers' names
    assert curves_per_trial(results) == {t: 3 for t in trials["trial_id"]}  # every epoch, once
    assert sum(1 for e in events if isinstance(e, EpochEnded) and e.metrics) == 8 * 3
    # what the folder holds is what a local search writes: the best model loads and scores on the test split
    assert 0 < results.test_score <= 1
    # the workers never saw the folder, and kept nothing of the search
    assert not any(client.run(sees, str(folder)).values())
    assert client.run(left_on_disk) == before
    # the same trials and scores as the same search on this machine's worker processes
    local = Search(spec(quickstart), tmp_path / "local").run()
    assert np.allclose(trials["score"], local.trials["score"], rtol=0, atol=1e-6)


def test_a_worker_killed_mid_search_costs_one_rerun_and_each_trial_is_recorded_once(
    tmp_path, quickstart, hosts, client
):
    search = Search(spec(quickstart), tmp_path, cluster=hosts.address, callbacks=[SlowEpochs(0.3)])
    events = collect(search)
    killed: list[str] = []

    def kill_after_two_trials(event):
        if killed or not isinstance(event, EpochEnded):
            return
        ended = sum(isinstance(e, TrialEnded) for e in events)
        started = {e.trial_id: e.worker for e in events if isinstance(e, TrialStarted)}
        if ended >= 2 and event.epoch == 2 and started.get(event.trial_id) in ("w1", "w2"):
            victim = started[event.trial_id]
            killed.append(event.trial_id)
            os.kill(worker_pids(client)[victim], signal.SIGKILL)  # its nanny starts a fresh one

    search.events.subscribe(kill_after_two_trials)
    results = search.run()
    assert killed, "no trial was running on a worker after two trials ended"
    trials = results.trials.set_index("trial_id")
    assert (trials["status"] == "completed").all() and len(trials) == 8
    assert trials.loc[killed[0], "attempts"] == 2  # tried again, once
    assert "was lost mid-trial" in trials.loc[killed[0], "earlier_attempts"]
    assert (trials.drop(index=killed[0])["attempts"] == 1).all()
    assert curves_per_trial(results) == {t: 3 for t in trials.index}  # the rerun's epochs only
    hosts.wait_for_workers(2)  # the nanny's fresh worker rejoined


def test_stop_ends_the_trials_on_the_cluster_within_an_epoch_and_the_search_resumes(tmp_path, quickstart, hosts):
    slow = spec(quickstart, trials=6, epochs=4)
    first = Search(slow, tmp_path, cluster=hosts.address, callbacks=[SlowEpochs(0.3)])
    events = collect(first)
    training: set[str] = set()

    def stop_beside_a_trial(event) -> None:
        # Stop as a trial ends while another one trains on the other worker (on a busy machine the second
        # worker's first trial can start after the first one ended)
        if isinstance(event, TrialStarted):
            training.add(event.trial_id)
        elif isinstance(event, TrialEnded):
            training.discard(event.trial_id)
            if training:
                first.stop()

    first.events.subscribe(stop_beside_a_trial)
    t0 = time.monotonic()
    first.run()
    assert first.end_reason is EndReason.STOPPED and time.monotonic() - t0 < 120
    stopped = [e for e in events if isinstance(e, TrialEnded) and e.status.value == "stopped"]
    assert stopped  # the trial training beside it was cut (it runs again on resume)
    results = Search(slow, tmp_path, cluster=hosts.address).run()
    assert results.trials["status"].tolist() == ["completed"] * 6
    assert curves_per_trial(results) == {t: 4 for t in results.trials["trial_id"]}


def test_stop_this_trial_reaches_its_dask_worker_and_the_search_goes_on(tmp_path, quickstart, hosts):
    search = Search(spec(quickstart, trials=3, epochs=5), tmp_path, cluster=hosts.address, callbacks=[SlowEpochs(0.3)])
    asked: list[bool] = []
    search.events.subscribe(
        lambda e: not asked and e.epoch == 2 and asked.append(search.stop_trial(e.trial_id)), EpochEnded
    )
    results = search.run()
    assert asked == [True]
    statuses = results.trials["status"].tolist()
    assert statuses.count("user_stopped") == 1 and statuses.count("completed") == 2
    stopped = results.trials[results.trials["status"] == "user_stopped"].iloc[0]
    assert stopped["epochs"] < 5 and "stopped by the user" in stopped["message"]


def test_tpe_with_asha_pruning_on_the_cluster(tmp_path, quickstart, hosts):
    from tunewidgets.spec import Range, choice

    tpe = spec(quickstart, trials=8, epochs=4).replace(
        **{
            "tuner.algorithm": "tpe",
            "tuner.pruning": "asha",
            "optimizer.name": choice("sgd", "adam"),
            "optimizer.learning_rate": Range(1e-4, 0.3, log=True),
        }
    )
    results = Search(tpe, tmp_path, cluster=hosts.address).run()
    statuses = results.trials["status"].tolist()
    assert len(statuses) == 8 and set(statuses) <= {"completed", "pruned"}
    assert "pruned" in statuses
    pruned = results.trials[results.trials["status"] == "pruned"]
    assert (pruned["epochs"] < 4).all() and pruned["message"].str.contains("ASHA|successive", case=False).all()


def test_hyperband_carries_trials_on_with_the_weights_sent_to_the_workers(tmp_path, hosts):
    from .conftest import SPECS

    hyperband = tiny(tw.Spec.from_file(SPECS / "hyperband.json")).replace(
        **{"tuner.workers": 2, "tuner.max_epochs": 3, "tuner.factor": 3}  # 6 trials, one carried on to 3 epochs
    )
    results = Search(hyperband, tmp_path, cluster=hosts.address).run()
    planned = tw.spec.budget.planned_trials(hyperband)
    assert results.trials["status"].tolist() == ["completed"] * planned
    carried = results.trials[results.trials["initial_epoch"] > 0]
    assert len(carried) > 0  # trained on from a parent's checkpoint, which travelled as bytes


def test_a_fused_group_trains_as_one_task(tmp_path, quickstart, hosts, client):
    client.get_task_stream(start=time.time())  # the scheduler records the tasks from now on
    begin = time.time()
    same_batches = {"tuner.fuse": 3, "tuner.workers": 1, "training.batch_size": Fixed(32)}  # one group per take
    fused = spec(quickstart, trials=6, epochs=2, **same_batches)
    search = Search(fused, tmp_path, cluster=hosts.address)
    events = collect(search)
    results = search.run()
    assert results.trials["status"].tolist() == ["completed"] * 6
    tasks = [r for r in client.get_task_stream(start=begin) if str(r["key"]).startswith("tunewidgets-")]
    assert len(tasks) == 2  # 6 trials, 3 to a task
    started = [e for e in events if isinstance(e, TrialStarted)]
    assert len({e.worker for e in started[:3]}) == 1 and len({e.worker for e in started[3:]}) == 1


def build_model(hp):
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(hp.Int("units", 4, 16, step=4), activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    optimizer = keras.optimizers.Adam(hp.Float("lr", 1e-3, 1e-1, sampling="log"))
    model.compile(optimizer=optimizer, loss="binary_crossentropy", metrics=["accuracy"])
    return model


def test_your_own_hypermodel_trains_on_the_cluster(tmp_path, hosts):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 6)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int64")
    own = tw.Spec().replace(**{"tuner.max_trials": 4, "training.epochs": 2, "tuner.workers": 2, "tuner.seed": 1})
    search = Search(own, tmp_path, hypermodel=build_model, data=(x, y), cluster=hosts.address)
    results = search.run()
    assert results.trials["status"].tolist() == ["completed"] * 4
    assert set(results.trials["worker"]) <= {"w1", "w2"}
    assert results.best_model().count_params() > 0  # rebuilt from the weights the workers sent back


def test_the_dashboard_runs_a_search_on_the_cluster(tmp_path, quickstart, hosts):
    dash = tw.Dashboard(spec(quickstart, trials=4, epochs=2), cluster=hosts.address, base_dir=tmp_path)
    deadline = time.monotonic() + 30
    while "2 workers" not in dash.where.widget.value and time.monotonic() < deadline:
        time.sleep(0.2)
    assert f"Dask scheduler at {hosts.address}: 2 workers" in dash.where.widget.value
    dash.bar.run_button.click()
    results = dash.wait(300)
    assert results is not None and results.trials["status"].tolist() == ["completed"] * 4
    assert set(results.trials["worker"]) <= {"w1", "w2"}


def test_a_scheduler_without_workers_says_so_within_seconds(tmp_path, tmp_path_factory, quickstart, monkeypatch):
    from tunewidgets.engine.worker.scheduler import no_worker_seconds

    assert no_worker_seconds() == 20  # the default wait: the message comes within 30 s
    monkeypatch.setenv("TUNEWIDGETS_CLUSTER_WAIT", "5")
    lonely = Hosts("local", tmp_path_factory.getbasetemp())
    try:
        address = lonely.start_scheduler()
        t0 = time.monotonic()
        with pytest.raises(tw.SearchError, match=f"Dask scheduler at {address} has had no worker for 5 s: start some"):
            Search(spec(quickstart, trials=2), tmp_path, cluster=address).run()
        assert time.monotonic() - t0 < 20
    finally:
        lonely.close()


def test_a_scheduler_that_goes_away_stops_the_search_and_it_resumes_with_a_new_one(
    tmp_path, tmp_path_factory, quickstart
):
    """Its own small cluster on loopback: the scheduler is killed mid-search; the search resumes on a new one."""
    own = Hosts("local", tmp_path_factory.getbasetemp())
    slow = spec(quickstart, trials=4, epochs=3, **{"tuner.workers": 1})
    try:
        address = own.start_scheduler()
        own.start_worker("solo")
        own.wait_for_workers(1)
        search = Search(slow, tmp_path, cluster=address, callbacks=[SlowEpochs(0.3)])
        search.events.subscribe(lambda e: isinstance(e, TrialEnded) and own.stop_scheduler())
        with pytest.raises(tw.SearchError, match="lost the Dask scheduler .* run the same search again"):
            search.run()
        kept = tw.load(tmp_path).trials
        assert (kept["status"] == "completed").sum() >= 1
        own.close()  # its worker left with it
        address = own.start_scheduler()
        own.start_worker("again")
        own.wait_for_workers(1)
        results = Search(slow, tmp_path, cluster=address).run()
        assert results.trials["status"].tolist() == ["completed"] * 4
    finally:
        own.close()


def test_local_gpus_gives_each_worker_its_own_gpu_and_each_task_asks_for_one(tmp_path, quickstart, monkeypatch):
    """This machine has no GPU: two listed in CUDA_VISIBLE_DEVICES, each worker process sees its own only."""
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    from tunewidgets.engine.cluster import local_gpus

    gpus = local_gpus()
    try:
        from distributed import Client

        with Client(gpus) as c:
            seen = c.run(lambda: os.environ["CUDA_VISIBLE_DEVICES"])
            declared = {w["name"]: w["resources"] for w in c.scheduler_info(n_workers=-1)["workers"].values()}
        assert sorted(seen.values()) == ["0", "1"]
        assert declared == {"gpu0": {"GPU": 1}, "gpu1": {"GPU": 1}}
        results = Search(spec(quickstart, trials=4, epochs=2), tmp_path, cluster="local-gpus").run()
        assert results.trials["status"].tolist() == ["completed"] * 4
        assert set(results.trials["worker"]) == {"gpu0 gpu 0", "gpu1 gpu 1"}
    finally:
        gpus.close()


def test_bad_cluster_arguments_are_named(tmp_path, quickstart, monkeypatch):
    with pytest.raises(tw.SpecError, match="cluster: 'nonsense' is not a Dask scheduler's address"):
        Search(quickstart, tmp_path, cluster="nonsense")
    with pytest.raises(tw.SpecError, match="cluster: expected a Dask scheduler's address"):
        Search(quickstart, tmp_path, cluster=42)
    with pytest.raises(tw.SpecError, match="listen: workers on other machines no longer join"):
        Search(quickstart, tmp_path, listen="0.0.0.0:8470")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    with pytest.raises(tw.SpecError, match="local-gpus: no GPU found"):
        Search(quickstart, tmp_path, cluster="local-gpus")
    from distributed import LocalCluster

    with (
        LocalCluster(n_workers=0, processes=False, dashboard_address=":0") as inproc,
        pytest.raises(tw.SpecError, match="runs inside this process"),
    ):
        Search(quickstart, tmp_path, cluster=inproc)


def test_the_cli_runs_on_a_cluster_and_says_where(tmp_path, quickstart, hosts):
    spec_file = tmp_path / "spec.json"
    spec(quickstart, trials=2, epochs=2).save(spec_file)
    done = subprocess.run(
        [sys.executable, "-m", "tunewidgets.cli", "run", str(spec_file), "--dir", str(tmp_path / "d"),
         "--cluster", hosts.address],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"Trials train on the Dask cluster at {hosts.address}" in done.stdout
    assert "Best trial" in done.stdout


def test_the_oracle_side_never_opens_a_port_to_other_machines(tmp_path, quickstart, hosts):
    """While a search runs on the cluster, its worker process (which keeps the oracle) listens nowhere."""
    search = Search(spec(quickstart, trials=4, epochs=3), tmp_path, cluster=hosts.address, callbacks=[SlowEpochs(0.3)])
    listening: list[str] = []

    def look(event):
        if isinstance(event, EpochEnded) and not listening:
            pid = int((tmp_path / "workers" / "tuner0.log").read_text().split(" pid ")[1].split(",")[0])
            out = subprocess.run(["ss", "-ltnp"], capture_output=True, text=True).stdout
            listening.append("\n".join(line for line in out.splitlines() if f"pid={pid}," in line) or "none")

    search.events.subscribe(look)
    thread = threading.Thread(target=search.run)
    thread.start()
    thread.join(300)
    assert listening == ["none"]
    assert math.isfinite(search.results.best_score)
