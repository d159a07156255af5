"""The cost race (issue #7, items 2 and 3): the measurement (model/race.py) and the background runner with its
store (app/race_cache.py). No timing is asserted: statistics run on synthetic tries, the runner on fake races,
and the real measurement on tiny models with a handful of tries.
"""
import json
import threading
import time

import pytest
import torch

from app import race_cache
from app.race_cache import RaceRunner, RaceStore, covers, valid_result
from model import cost, race
from model.gpt import GPT, GPTConfig
from model.rwkv import RWKV, RWKVConfig

MACHINE = {"cpu": "Test CPU", "cores": 2, "torch_threads": 1, "torch": "0.0", "python": "3.11",
           "date": "2026-01-01 10:00 UTC"}


def synthetic_race(lengths, rwkv_ms, gpt_ms, repeats=5, unix_time=1000.0, spread=0.0, models=None, ctx_len=256):
    """A complete race result in `measure_race`'s shape with made-up tries: at each length the tries are
    `f(n) + spread × (i − (repeats − 1) / 2)` for i in range(repeats), so the median is exactly f(n)."""
    def tries(f, n):
        return [f(n) + spread * (i - (repeats - 1) / 2) for i in range(repeats)]

    per_token = cost.kv_cache_bytes_per_token(4, 3, 64, 4)
    res = {
        "version": 2, "lengths": list(lengths), "repeats": repeats, "planned_repeats": repeats, "complete": True,
        "rwkv": {"ms": [tries(rwkv_ms, n) for n in lengths], "bytes": [15360] * len(lengths),
                 "flops": [5_308_416] * len(lengths)},
        "gpt": {"ms": [tries(gpt_ms, n) for n in lengths], "bytes": [per_token * n for n in lengths],
                "flops": [cost.transformer_decode_flops_per_token(4, 192, 4096, n) for n in lengths]},
        "config": {"rwkv": {"n_layer": 4, "n_embd": 192, "vocab_size": 4096, "params": 3_500_000},
                   "gpt": {"n_layer": 4, "n_embd": 192, "n_head": 3, "vocab_size": 4096, "ctx_len": ctx_len,
                           "params": 3_350_000},
                   "n_tokens": lengths[-1], "real_prefix": 64, "warmup": 2, "dtype": "float32"},
        "machine": {**MACHINE, "unix_time": unix_time},
        "seconds": 1.5,
    }
    if models:
        res["models"] = models
    return res


@pytest.fixture(scope="module")
def tiny_models():
    torch.manual_seed(0)
    r = RWKV(RWKVConfig(vocab_size=64, n_layer=2, n_embd=32)).init_official().eval()
    g = GPT(GPTConfig(vocab_size=64, n_layer=2, n_embd=32, n_head=2, ctx_len=16)).eval()
    return r, g


# ------------------------------------------------------------------ the measurement (item 3)


def test_race_lengths_and_tokens():
    assert race.race_lengths(8192) == list(race.GRID)
    assert race.race_lengths(1000) == [1, 64, 256, 512, 1000]
    assert race.race_lengths(64) == [1, 64] and race.race_lengths(1) == [1]
    with pytest.raises(ValueError):
        race.race_lengths(0)
    ids = race.race_tokens(300, vocab_size=64)
    assert len(ids) == 300 and all(0 <= i < 64 for i in ids)
    assert race.race_tokens(10, vocab_size=64) == ids[:10]

    class Tok:
        def encode(self, text):
            return [1, 2, 3, 999]
    assert race.race_tokens(7, Tok(), vocab_size=64) == [1, 2, 3, 1, 2, 3, 1]


def test_the_race_is_long_enough_for_attention_to_dominate():
    """The race's longest length is past the point where the transformer's attention term (4·L·t·D) outgrows
    its weights' term (2(VD + 12D²L)) for the shipped 4 × 192 models, by several times."""
    L, D, V = 4, 192, 4096
    weights = cost.transformer_decode_flops_per_token(L, D, V, 0)
    attention = cost.transformer_decode_flops_per_token(L, D, V, race.GRID[-1]) - weights
    assert attention > 4 * weights
    assert weights / (4 * L * D) < 2048  # the cross-over is well inside the race


def test_measure_race_structure(tiny_models):
    r, g = tiny_models
    threads = torch.get_num_threads()
    res = race.measure_race(r, g, race.race_tokens(300, vocab_size=64), repeats=3, warmup=1)
    assert torch.get_num_threads() == threads  # restored
    assert res["lengths"] == [1, 64, 256, 300] and res["repeats"] == 3 and res["complete"]
    for k in ("rwkv", "gpt"):
        assert [len(tries) for tries in res[k]["ms"]] == [3] * 4
        assert all(t > 0 for tries in res[k]["ms"] for t in tries)
    assert set(res["rwkv"]["bytes"]) == {2 * 5 * 32 * 4}  # RWKV's state: the same bytes at every length
    assert res["gpt"]["bytes"] == [cost.kv_cache_bytes(n, 2, 2, 16, 4) for n in res["lengths"]]
    assert res["gpt"]["flops"] == [cost.transformer_decode_flops_per_token(2, 32, 64, n) for n in res["lengths"]]
    assert res["machine"]["torch_threads"] == 1 and isinstance(res["machine"]["unix_time"], float)
    assert res["config"]["real_prefix"] == 64 and res["config"]["gpt"]["ctx_len"] == 16
    assert valid_result(res, 300)
    json.dumps(res)  # plain data only
    # lengths beyond the tokens given are left out; none at all is an error
    assert race.measure_race(r, g, race.race_tokens(50, vocab_size=64), lengths=[1, 40, 64], repeats=1)["lengths"] \
        == [1, 40]
    with pytest.raises(ValueError):
        race.measure_race(r, g, [])
    with pytest.raises(ValueError):
        race.measure_race(r, g, [1, 2], lengths=[5])


class Recorder:
    """Wraps a model's `step` to record (model, token number about to be read, cache length) per call."""

    def __init__(self, model, name, log):
        self.model, self.name, self.log = model, name, log
        self.cfg = model.cfg

    def __getattr__(self, attr):
        return getattr(self.model, attr)

    def step(self, token, memory, **kw):
        held = memory.length if self.name == "gpt" else None
        self.log.append((self.name, held))
        return self.model.step(token, memory, **kw)


def test_measure_race_interleaves_models_and_lengths(tiny_models):
    r, g = tiny_models
    log = []
    rec_r, rec_g = Recorder(r, "rwkv", log), Recorder(g, "gpt", log)
    lengths = [1, 10, 40, 80]
    partials = []
    res = race.measure_race(rec_r, rec_g, race.race_tokens(80, vocab_size=64), lengths=lengths, repeats=6,
                            warmup=0, real_prefix=8, progress=partials.append)
    timed = log[2 * 8:]  # after the 8 real tokens both models read first
    assert len(timed) == 6 * len(lengths) * 2
    pairs = [timed[i:i + 2] for i in range(0, len(timed), 2)]
    rounds = [pairs[i:i + len(lengths)] for i in range(0, len(pairs), len(lengths))]
    orders = []
    firsts = []
    for rnd in rounds:
        held = []
        for a, b in rnd:
            assert {a[0], b[0]} == {"rwkv", "gpt"}  # both models at every length, one after the other
            firsts.append(a[0])
            held.append((a if a[0] == "gpt" else b)[1])
        assert sorted(h + 1 for h in held) == lengths  # token N is read with N − 1 tokens held
        orders.append(tuple(held))
    assert len(set(orders)) > 1  # the order of the lengths changes from round to round
    assert 0.3 < firsts.count("gpt") / len(firsts) < 0.7  # who goes first alternates
    # progress after every round, each a snapshot with the tries so far
    assert [p["repeats"] for p in partials] == [1, 2, 3, 4, 5, 6]
    assert all(not p["complete"] and len(p["gpt"]["ms"][0]) == p["repeats"] for p in partials)
    # each snapshot can be drawn as it is: the same shape as the final result, with its machine and config
    assert all(p["config"] == res["config"] and p["machine"]["cpu"] == res["machine"]["cpu"] for p in partials)
    assert [r["tries"] for r in race.race_rows(partials[2])] == [3] * len(lengths)
    assert res["complete"]


def test_cache_filled_by_repetition_matches_the_real_prefix(tiny_models):
    """Past the real prefix the cache holds copies of the prefix's keys and values, and its length is right."""
    _, g = tiny_models
    cache = g.new_cache(capacity=20)
    with torch.inference_mode():
        for t in range(4):
            g.step(t, cache)
    race._fill_by_repeating(cache, 4, 11)
    for buf in cache.keys + cache.values:
        assert torch.equal(buf[:, 4:8], buf[:, 0:4]) and torch.equal(buf[:, 8:11], buf[:, 0:3])
        assert not buf[:, 11:].any()


# ------------------------------------------------------------------ robust statistics (item 3)


def test_quantile_matches_numpy():
    import numpy as np

    xs = [5.0, 1.0, 9.0, 2.0, 7.0, 3.0]
    for q in (0, 0.25, 0.5, 0.75, 1):
        assert race.quantile(xs, q) == pytest.approx(float(np.quantile(xs, q)))
    assert race.quantile([4.0], 0.25) == 4.0
    with pytest.raises(ValueError):
        race.quantile([], 0.5)


def test_race_rows_medians_spread_and_totals():
    res = synthetic_race([1, 100, 300], lambda n: 2.0, lambda n: 1.0 + n / 100, repeats=5, spread=0.1)
    # one wild try per length (another program interrupting) does not move the median
    for k in ("rwkv", "gpt"):
        for tries in res[k]["ms"]:
            tries[-1] = 500.0
    rows = race.race_rows(res)
    assert [r["tokens"] for r in rows] == [1, 100, 300] and all(r["tries"] == 5 for r in rows)
    assert [round(r["gpt_ms"], 6) for r in rows] == [1.01, 2.0, 4.0]
    assert rows[1]["rwkv_ms"] == pytest.approx(2.0)
    assert rows[1]["gpt_p25"] == pytest.approx(1.9) and rows[1]["gpt_p75"] == pytest.approx(2.1)
    # totals: the medians added up, straight lines between the lengths timed (trapezoids)
    assert rows[0]["gpt_total_s"] == pytest.approx(1.01e-3)
    assert rows[2]["rwkv_total_s"] == pytest.approx(300 * 2.0e-3)
    assert rows[2]["gpt_total_s"] == pytest.approx((1.01 + 99 * (1.01 + 2.0) / 2 + 200 * (2.0 + 4.0) / 2) / 1e3)
    assert [r["tokens"] for r in race.race_rows(res, upto=100)] == [1, 100]


def test_growth_verdict_shows_growth_only_beyond_the_spread():
    clear = race.race_rows(synthetic_race([1, 4096, 8192], lambda n: 2.0, lambda n: 2.0 + n / 1000, spread=0.2))
    v = race.growth_verdict(clear)
    assert v["comparable"] and v["transformer_grows"] and v["rwkv_level"] and v["transformer_slower"]
    assert v["growth"] == pytest.approx(10.192 / 2.001)

    # the run issue #7 quotes: 8.79 → 5.64 → 8.46 ms, with tries spread by several ms
    noisy = synthetic_race([256, 1024, 2048], lambda n: 2.0,
                           lambda n: {256: 8.79, 1024: 5.64, 2048: 8.46}[n], spread=2.0)
    v = race.growth_verdict(race.race_rows(noisy))
    assert v["comparable"] and not v["transformer_grows"]

    # RWKV's line jumping beyond its spread is reported, not hidden
    jumpy = synthetic_race([1, 8192], lambda n: 2.0 if n == 1 else 4.0, lambda n: 2.0 + n / 1000, spread=0.1)
    assert not race.growth_verdict(race.race_rows(jumpy))["rwkv_level"]

    one = race.growth_verdict(race.race_rows(synthetic_race([64], lambda n: 1.0, lambda n: 1.0)))
    assert not one["comparable"] and not one["transformer_grows"]


# ------------------------------------------------------------------ the store (item 2)


def test_store_keeps_the_last_race_per_machine(tmp_path):
    store = RaceStore(tmp_path / "data")
    assert store.load("a") == {}  # no file yet
    first, second = synthetic_race([1, 64], lambda n: 1, lambda n: 2, unix_time=10.0), \
        synthetic_race([1, 64], lambda n: 1, lambda n: 3, unix_time=20.0)
    assert store.save("a", 64, first) and store.save("b", 64, first) and store.save("a", 64, second)
    assert store.load("a") == {64: second} and store.load("b") == {64: first}
    assert RaceStore(tmp_path / "data").load("a")[64]["gpt"]["ms"] == second["gpt"]["ms"]  # another process reads it


def test_store_rejects_incomplete_and_bad_results(tmp_path):
    store = RaceStore(tmp_path)
    good = synthetic_race([1, 64], lambda n: 1, lambda n: 2)
    assert not store.save("a", 128, good)  # does not reach the length it claims
    partial = {**good, "complete": False}
    assert not store.save("a", 64, partial)
    bad = json.loads(json.dumps(good))
    bad["gpt"]["ms"][0][0] = float("nan")
    assert not valid_result(bad, 64)
    assert not valid_result({**good, "machine": {"cpu": 3}}) and not valid_result(None)
    assert store.load("a") == {}
    (tmp_path / "race.json").write_text("{not json")
    assert store.load("a") == {}  # a corrupt file is an empty store
    assert store.save("a", 64, good) and store.load("a") == {64: good}  # and is replaced by the next save


def test_store_keeps_a_few_lengths_per_machine(tmp_path):
    store = RaceStore(tmp_path)
    for i, n in enumerate([100, 200, 300, 400, 500, 600, 700, 800]):
        store.save("a", n, synthetic_race(race.race_lengths(n), lambda n: 1, lambda n: 2, unix_time=float(i)))
    kept = store.load("a")
    assert sorted(kept) == [300, 400, 500, 600, 700, 800]  # the newest KEEP_PER_MACHINE


def test_store_unwritable_folder_is_not_an_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    store = RaceStore(blocker / "sub")  # a folder inside a file: cannot be made
    assert store.save("a", 64, synthetic_race([1, 64], lambda n: 1, lambda n: 2)) is False
    assert store.load("a") == {}


def test_data_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(race_cache.DATA_ENV, str(tmp_path / "x"))
    assert race_cache.data_dir() == tmp_path / "x"
    monkeypatch.delenv(race_cache.DATA_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert race_cache.data_dir() == tmp_path / "cache" / "rwkv-explainer"


# ------------------------------------------------------------------ the runner (item 2)


class FakeRaces:
    """`measure(n, progress)` for a RaceRunner: records calls, reports one round, and can be held back."""

    def __init__(self, hold=False):
        self.calls, self.active, self.most_active = [], 0, 0
        self.release = threading.Event()
        self.entered = threading.Event()
        self._lock = threading.Lock()
        if not hold:
            self.release.set()

    def __call__(self, n, progress):
        with self._lock:
            self.calls.append(n)
            self.active += 1
            self.most_active = max(self.most_active, self.active)
        try:
            result = synthetic_race(race.race_lengths(n), lambda m: 1.0, lambda m: 1.0 + m / 1000,
                                    unix_time=time.time())
            progress({**result, "complete": False, "repeats": 1})
            self.entered.set()
            assert self.release.wait(30)
            return result
        finally:
            with self._lock:
                self.active -= 1


def make_runner(tmp_path, fake, **kw):
    return RaceRunner(store=RaceStore(tmp_path), measure=fake, machine=MACHINE, **kw)


def test_background_race_starts_once_per_process(tmp_path):
    fake = FakeRaces()
    runner = make_runner(tmp_path, fake, standard=8192)
    results = []
    threads = [threading.Thread(target=lambda: results.append(runner.ensure_started())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert runner.wait(30)
    assert sorted(results) == [False] * 7 + [True] and fake.calls == [8192]
    assert runner.ensure_started() is False and fake.calls == [8192]
    # every length the page offers is covered by that one race; it was kept for the next process
    for n in (256, 1024, 8192):
        assert runner.snapshot(n).result is not None and runner.request(n) == ("have", None)
    assert fake.calls == [8192]
    assert RaceStore(tmp_path).load(runner.key)[8192]["lengths"] == list(race.GRID)


def test_stored_result_is_shown_at_once_while_a_fresh_race_runs(tmp_path):
    """After a server restart the last race on this machine shows immediately; the fresh one runs behind it."""
    stored = synthetic_race(list(race.GRID), lambda n: 1.5, lambda n: 1.5 + n / 1000, unix_time=50.0)
    key = race.machine_key({**MACHINE, "torch_threads": 1})
    RaceStore(tmp_path).save(key, 8192, stored)
    fake = FakeRaces(hold=True)
    runner = make_runner(tmp_path, fake)
    snap = runner.snapshot(2048)
    assert snap.result == stored and not snap.running  # before anything runs
    runner.ensure_started()
    assert fake.entered.wait(30)
    snap = runner.snapshot(2048)
    assert snap.result == stored and snap.running and snap.done == 1  # still the stored one, and the progress
    assert snap.partial is not None and snap.partial["repeats"] == 1
    fake.release.set()
    assert runner.wait(30)
    fresh = runner.snapshot(2048).result
    assert fresh["machine"]["unix_time"] > 50.0 and not runner.snapshot(2048).running


def test_with_a_race_kept_the_refresh_waits_so_the_first_visit_has_the_cores(tmp_path):
    """The first visitor (often the presenter) sets off the refresh; it starts `refresh_delay_s` later, while
    the kept race is on screen. With nothing kept, the race starts at once (there is nothing to show)."""
    import time

    stored = synthetic_race(list(race.GRID), lambda n: 1.5, lambda n: 1.5 + n / 1000, unix_time=50.0)
    key = race.machine_key({**MACHINE, "torch_threads": 1})
    RaceStore(tmp_path / "kept").save(key, 8192, stored)
    fake = FakeRaces()
    runner = RaceRunner(store=RaceStore(tmp_path / "kept"), measure=fake, machine=MACHINE, refresh_delay_s=0.5)
    assert runner.ensure_started()
    time.sleep(0.2)
    assert fake.calls == [] and not runner.snapshot(8192).running and runner.snapshot(8192).result == stored
    assert fake.entered.wait(30) and fake.calls == [8192]  # then it runs
    assert runner.wait(30)

    empty = FakeRaces()
    fresh = RaceRunner(store=RaceStore(tmp_path / "empty"), measure=empty, machine=MACHINE, refresh_delay_s=60)
    fresh.ensure_started()
    assert empty.entered.wait(30) and empty.calls == [8192]  # nothing kept: no waiting
    assert fresh.wait(30)


def test_one_race_at_a_time_and_other_lengths_wait_their_turn(tmp_path):
    fake = FakeRaces(hold=True)
    runner = make_runner(tmp_path, fake, standard=8192)
    runner.ensure_started()
    assert fake.entered.wait(30)
    assert runner.request(1000) == ("started", None)  # not covered by the running race: queued
    assert runner.request(2048)[0] == "running"  # covered by the running 8,192 race
    assert runner.request(1000)[0] == "running"  # already waiting
    assert runner.snapshot(1000).running and runner.snapshot(1000).done == 0
    fake.release.set()
    assert runner.wait(30)
    assert fake.calls == [8192, 1000] and fake.most_active == 1
    assert runner.snapshot(1000).result["lengths"] == [1, 64, 256, 512, 1000]


def test_measure_again_is_throttled_per_length(tmp_path):
    t0 = time.time() + 10_000  # after the fake races' unix_time: nothing stored looks newer than a request
    clock = [t0]
    fake = FakeRaces()
    runner = make_runner(tmp_path, fake, min_gap_s=30, clock=lambda: clock[0], standard=512)
    runner.ensure_started()
    assert runner.wait(30)
    clock[0] = t0 + 10
    assert runner.request(512, fresh=True) == ("too soon", 10.0)
    assert runner.request(256, fresh=True) == ("too soon", 10.0)  # 256 was part of the 512 race
    assert runner.request(1000, fresh=True) == ("started", None)  # another length has its own clock
    assert runner.wait(30)
    clock[0] = t0 + 45
    assert runner.request(512, fresh=True) == ("started", None)
    assert runner.wait(30)
    assert fake.calls == [512, 1000, 512]


def test_a_failed_race_is_reported_and_not_retried_by_itself(tmp_path):
    def broken(n, progress):
        raise RuntimeError("no memory left")

    runner = make_runner(tmp_path, broken, standard=64)
    runner.ensure_started()
    assert runner.wait(30)
    snap = runner.snapshot(64)
    assert snap.result is None and not snap.running and "no memory left" in snap.error
    assert runner.request(64) == ("have", None)  # page runs do not start it again and again
    assert runner.request(64, fresh=True) == ("started", None)  # "Measure again" does
    assert runner.wait(30)


def test_processes_sharing_the_folder_reuse_a_race_stored_meanwhile(tmp_path):
    """Room mode: a second process that waited for the first one's race takes its result instead of racing."""
    first = make_runner(tmp_path, FakeRaces(), standard=512, clock=lambda: 10.0)
    first.ensure_started()
    assert first.wait(30) and first.races_run == 1
    second_fake = FakeRaces()
    second = make_runner(tmp_path, second_fake, standard=512, clock=lambda: 5.0)  # asked before it was stored
    second._results.clear()
    second.ensure_started()
    assert second.wait(30)
    assert second.races_run == 0 and second_fake.calls == []
    assert second.snapshot(512).result["gpt"]["ms"] == first.snapshot(512).result["gpt"]["ms"]


def test_app_models_race_for_real_with_few_tries(tmp_path, monkeypatch):
    """`race_cache.measure` drives `model.race.measure_race` with the app's models (stand-ins when the weights
    are missing), labelled with which models raced."""
    from app import loaders
    from model.checkpoint import CheckpointError

    def missing():
        raise CheckpointError("checkpoint config not found: (test)")

    monkeypatch.setattr(loaders, "rwkv_model", missing)
    monkeypatch.setattr(loaders, "gpt_model", missing)
    res = race_cache.measure(65, repeats=2)
    assert res["lengths"] == [1, 64, 65] and res["repeats"] == 2 and res["models"] == race_cache.STAND_IN
    assert valid_result(res, 65) and covers(res, 64) and not covers(res, 66)


def test_stop_ends_a_running_race_after_its_round_and_drops_the_queue(tmp_path):
    """At exit (atexit, for the process's runner) a race in progress ends at its next round: a thread still
    inside torch while the interpreter shuts down can abort the process."""
    rounds = []
    go_on = threading.Event()

    def long_race(n, progress):
        for i in range(1000):
            rounds.append(i)
            progress({"repeats": i + 1, "planned_repeats": 1000})
            go_on.wait(0.01)
        return None

    runner = make_runner(tmp_path, long_race, standard=64)
    runner.ensure_started()
    runner.request(1000)
    while not rounds:
        time.sleep(0.01)
    runner.stop(timeout=10)
    assert not runner.busy() and len(rounds) < 1000
    assert runner.snapshot(64).error == "the server is shutting down"
    assert runner.request(128) == ("stopped", None) and not runner.busy()  # nothing new starts any more


@pytest.fixture
def no_app_race():
    """The app's own runner (a page test in this process may have made it) races on its own schedule, in race
    processes of its own: stopped first, so a test sees only the race process it starts."""
    with race_cache._RUNNER_LOCK:
        app_runner, race_cache._RUNNER = race_cache._RUNNER, None
    if app_runner is not None:
        app_runner.stop(timeout=10)
    deadline = time.monotonic() + 10
    while race_cache._WORKERS and time.monotonic() < deadline:
        time.sleep(0.05)
    yield


def test_the_default_race_runs_in_a_process_of_its_own_and_reports_each_round(tmp_path, no_app_race):
    """`RaceRunner`'s default measure is `measure_in_worker`: `python -m app.race_cache` races the app's
    models and sends each round as a JSON line, so the race never holds the server's interpreter lock."""
    runner = race_cache.RaceRunner(store=race_cache.RaceStore(tmp_path), machine=MACHINE, standard=65)
    assert runner._measure is race_cache.measure_in_worker
    rounds, started = [], []

    def progress(partial):
        rounds.append(partial["repeats"])
        started.extend(others_than(before))

    before = set(race_cache._WORKERS)  # an earlier test's page may have started the app's own race
    res = race_cache.measure_in_worker(65, progress, repeats=2)
    assert rounds == [1, 2] and len(set(started)) == 1  # one process of its own, there while it raced
    assert valid_result(res, 65) and res["repeats"] == 2 and res["models"] in (race_cache.TRAINED, race_cache.STAND_IN)
    assert started[0].poll() is not None and not others_than(before)  # and gone


def others_than(before: set) -> set:
    """Race processes started since `before` and still listed."""
    return set(race_cache._WORKERS) - before


def test_a_failed_race_process_says_why(tmp_path, no_app_race):
    before = set(race_cache._WORKERS)
    with pytest.raises(RuntimeError, match="the race process stopped"):
        race_cache.measure_in_worker(0)  # no tokens to race: the process exits with an error
    assert not others_than(before)


def test_stopping_the_runner_ends_its_race_process(tmp_path, no_app_race):
    runner = race_cache.RaceRunner(store=race_cache.RaceStore(tmp_path), machine=MACHINE, standard=8192)
    before = set(race_cache._WORKERS)
    runner.request(8192)
    deadline = time.monotonic() + 30
    while not others_than(before) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert others_than(before), "no race process started"
    proc = next(iter(others_than(before)))
    runner.stop(timeout=10)
    assert proc.wait(timeout=10) is not None and proc not in race_cache._WORKERS
    assert runner.snapshot(8192).error == "the server is shutting down"


def test_a_recent_kept_race_is_not_raced_again_at_server_start(tmp_path):
    """Restarting the server (a rehearsal, then the talk) shows the race kept from a few hours ago and races
    nobody's cores while people open pages; an older one is refreshed as before."""
    key = race.machine_key({**MACHINE, "torch_threads": 1})
    for age_h, raced in ((2, False), (30, True)):
        folder = tmp_path / f"age-{age_h}"
        stored = synthetic_race(list(race.GRID), lambda n: 1.5, lambda n: 1.5 + n / 1000, unix_time=100_000.0)
        RaceStore(folder).save(key, 8192, stored)
        fake = FakeRaces()
        runner = RaceRunner(store=RaceStore(folder), measure=fake, machine=MACHINE, keep_fresh_s=12 * 3600,
                            clock=lambda age_h=age_h: 100_000.0 + age_h * 3600)
        assert runner.ensure_started() and not runner.ensure_started()
        assert fake.entered.wait(5) is raced
        assert runner.wait(30) and fake.calls == ([8192] if raced else [])
        assert runner.snapshot(8192).result is not None
