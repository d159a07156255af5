"""Cost formulas reproduce the numbers printed in their sources (model/cost.py)."""
import json

import pytest
import torch

from model import cost
from model.gpt import GPT, GPTConfig
from app.escape import user_text
from app.texts_cost import parse_scale_params, parse_tokens_param, race_machine_label, time_ago
from model.race import RaceDesk, machine_description, measure_race, race_tokens, rolling_median, summary_at
from model.rwkv import RWKV, RWKVConfig


def sig4(x: float) -> str:
    return f"{x:.3e}"


def test_rwkv_flops_match_paper_table2():
    # arXiv 2305.13048 Table 2: 169M → 2.613e8, 430M → 7.573e8 FLOPs per token
    assert sig4(cost.rwkv4_flops_per_token(12, 768, 50277)) == "2.613e+08"
    assert sig4(cost.rwkv4_flops_per_token(24, 1024, 50277)) == "7.573e+08"
    assert cost.rwkv4_flops_per_token(12, 768, 50277) == 261_250_560


def test_rwkv_params_match_model_names():
    assert cost.rwkv4_params(12, 768, 50277) == 169_342_464
    for name, s in cost.MODEL_SIZES.items():
        p = s.rwkv_params()
        expected = {"169M": 169e6, "430M": 430e6, "1.5B": 1.5e9, "3B": 3e9, "7B": 7.4e9, "14B": 14e9}[name]
        assert abs(p - expected) / expected < 0.04, (name, p)


def test_rwkv_params_formula_matches_our_model():
    # our model/rwkv.py implements RWKV-4; its parameter count must follow the paper's formula
    cfg = RWKVConfig(vocab_size=64, n_layer=2, n_embd=32)
    assert RWKV(cfg).num_params() == cost.rwkv4_params(2, 32, 64)


def test_rwkv_state():
    assert cost.rwkv4_state_floats(12, 768) == 46_080
    assert cost.rwkv4_state_bytes(12, 768, 4) == 180 * 1024
    m = RWKV(RWKVConfig(vocab_size=64, n_layer=3, n_embd=16))
    s = m.new_state()
    assert s.numel() == cost.rwkv4_state_floats(3, 16)


def test_kv_cache_opt13b_vllm():
    # arXiv 2309.06180 §3: OPT-13B, 40 layers, 5120 wide (40 heads × 128), fp16 → 800 KB per token
    assert cost.kv_cache_bytes_per_token(40, 40, 128, 2) == 819_200 == 800 * 1024
    assert cost.kv_cache_bytes(2048, 40, 40, 128, 2) == 2048 * 819_200


def test_kv_cache_formula_matches_our_gpt():
    g = GPT(GPTConfig(vocab_size=64, n_layer=2, n_embd=32, n_head=2)).eval()
    c = g.new_cache()
    for t in range(7):
        _, c = g.step(t, c)
    assert c.total_bytes() == cost.kv_cache_bytes(7, 2, 2, 16, 4)


def test_gqa_shrinks_cache_by_head_ratio():
    s = cost.MODEL_SIZES["7B"]
    assert (s.n_heads, s.head_dim, s.gqa_kv_heads) == (32, 128, 8)
    full = cost.memory_per_conversation(s, 4096)["transformer"]
    gqa = cost.memory_per_conversation(s, 4096, gqa=True)["transformer"]
    assert full == 4 * gqa
    assert s.transformer_params(True) < s.transformer_params(False)


def test_kaplan():
    assert cost.transformer_params_kaplan(12, 768) == 12 * 12 * 768**2
    assert cost.transformer_params(12, 768) == 12 * 12 * 768**2
    assert cost.transformer_params(12, 768, vocab=100) == 12 * 12 * 768**2 + 2 * 100 * 768
    n = cost.transformer_params_kaplan(12, 768)
    assert cost.transformer_forward_flops_kaplan(n, 12, 1024, 768) == 2 * n + 2 * 12 * 1024 * 768
    # decoding: weights term like RWKV's (12 instead of 13 D² per layer) + both attention products
    assert cost.transformer_decode_flops_per_token(12, 768, 50277, 0) == 2 * (50277 * 768 + 12 * 768**2 * 12)
    assert (cost.transformer_decode_flops_per_token(12, 768, 50277, 1000)
            - cost.transformer_decode_flops_per_token(12, 768, 50277, 0)) == 4 * 12 * 1000 * 768


def test_rwkv_memory_constant_transformer_linear():
    s = cost.MODEL_SIZES["169M"]
    a, b = cost.memory_per_conversation(s, 1000), cost.memory_per_conversation(s, 2000)
    assert a["rwkv"] == b["rwkv"] == 184_320
    assert b["transformer"] == 2 * a["transformer"]


def test_conversations_that_fit():
    assert cost.conversations_that_fit(100, 10) == 10
    assert cost.conversations_that_fit(100, 10, weights=35) == 6
    assert cost.conversations_that_fit(100, 10, weights=200) == 0
    assert cost.tokens_that_fit(80 * cost.GB, 819_200) == 97_656
    g = cost.conversations_on_gpu(cost.MODEL_SIZES["7B"], 1_048_576)
    assert g["transformer"] == 0 and g["rwkv"] > 10_000
    # 14B fp16 weights (28 GB) fit in 80 GB: state 4.1 MB each
    g14 = cost.conversations_on_gpu(cost.MODEL_SIZES["14B"], 4096)
    assert g14["rwkv"] == (80 * cost.GB - g14["rwkv_weights_bytes"]) // 4_096_000


def test_log_contexts_and_labels():
    ctx = cost.log_contexts()
    assert ctx[0] == 1024 and ctx[-1] == 1_048_576 and len(ctx) == 11
    assert cost.human_bytes(819_200) == "819 KB"
    assert cost.human_bytes(8e9) == "8 GB"
    assert cost.human_count(2.5e9) == "2.5 billion"
    assert cost.human_bytes(12) == "12 bytes" and cost.human_bytes(1) == "1 byte"


def test_size_table_and_at_scale_numbers():
    rows = cost.size_table()
    assert [r["name"] for r in rows] == ["169M", "430M", "1.5B", "3B", "7B", "14B"]
    for r in rows:
        assert r["d_model"] == r["n_heads"] * r["head_dim"]
        assert r["n_heads"] % r["gqa_kv_heads"] == 0
    n = cost.at_scale_numbers(cost.MODEL_SIZES["14B"], 32768, gqa=False)
    assert n["transformer_bytes"] == 32768 * 819_200
    assert n["memory_ratio"] > 1000
    json.dumps(n)


# ------------------------------------------------------------------ the measured race


@pytest.fixture(scope="module")
def tiny_models():
    torch.manual_seed(0)
    r = RWKV(RWKVConfig(vocab_size=64, n_layer=2, n_embd=32)).init_official().eval()
    g = GPT(GPTConfig(vocab_size=64, n_layer=2, n_embd=32, n_head=2, ctx_len=16)).eval()
    return r, g


def test_race_tokens():
    ids = race_tokens(300, vocab_size=64)
    assert len(ids) == 300 and all(0 <= i < 64 for i in ids)
    assert race_tokens(10, vocab_size=64) == ids[:10]

    class Tok:
        def encode(self, text):
            return [1, 2, 3, 999]
    assert race_tokens(7, Tok(), vocab_size=64) == [1, 2, 3, 1, 2, 3, 1]


def test_measure_race_structure(tiny_models):
    r, g = tiny_models
    threads = torch.get_num_threads()
    res = measure_race(r, g, race_tokens(50, vocab_size=64), every=5)
    assert torch.get_num_threads() == threads  # restored
    assert res["tokens"] == list(range(5, 51, 5))
    for k in ("rwkv", "gpt"):
        for f in ("ms", "bytes", "cumulative_s", "flops"):
            assert len(res[k][f]) == 10
        assert all(m > 0 for m in res[k]["ms"])
        assert res[k]["cumulative_s"] == sorted(res[k]["cumulative_s"])
    assert set(res["rwkv"]["bytes"]) == {2 * 5 * 32 * 4}
    assert res["gpt"]["bytes"] == [cost.kv_cache_bytes(t, 2, 2, 16, 4) for t in res["tokens"]]
    assert res["gpt"]["flops"][-1] > res["gpt"]["flops"][0]
    assert res["machine"]["torch_threads"] == 1
    assert isinstance(res["machine"]["unix_time"], float)
    json.dumps(res)  # plain data only


def test_measure_race_past_trained_context(tiny_models):
    r, g = tiny_models  # trained context 16; rotary positions let it go on
    res = measure_race(r, g, race_tokens(40, vocab_size=64), every=1, warmup=0)
    assert res["tokens"][-1] == 40 and res["gpt"]["bytes"][-1] == cost.kv_cache_bytes(40, 2, 2, 16, 4)
    rows = summary_at(res, (20, 40), window=8)
    assert [row["tokens"] for row in rows] == [20, 40]


def test_measure_race_rejects_empty(tiny_models):
    with pytest.raises(ValueError):
        measure_race(*tiny_models, [])


def test_rolling_median_and_machine():
    assert rolling_median([1, 100, 1, 1, 1], 3) == [50.5, 1, 1, 1, 1]
    m = machine_description()
    assert m["cores"] >= 1 and m["cpu"]


def test_measure_race_restores_threads_after_an_error(tiny_models):
    r, g = tiny_models
    threads = torch.get_num_threads()
    with pytest.raises(Exception):
        measure_race(r, g, [10_000], threads=2)  # token id outside the vocabulary: the step fails
    assert torch.get_num_threads() == threads


# ------------------------------------------------------------------ one race at a time


def test_race_desk_throttles_fresh_runs_per_length():
    clock = [0.0]
    desk = RaceDesk(min_gap_s=30, clock=lambda: clock[0])
    assert desk.latest(256) == 0 and desk.request_fresh(256) == (1, None)  # nothing ran yet: fresh
    clock[0] = 10.0
    assert desk.request_fresh(256) == (1, 10.0)  # too soon: keep showing run 1
    assert desk.request_fresh(512) == (1, None)  # another length has its own clock
    clock[0] = 40.0
    assert desk.request_fresh(256) == (2, None) and desk.latest(256) == 2
    desk.started(256)  # the race itself starts (e.g. after waiting for the lock)
    clock[0] = 50.0
    assert desk.request_fresh(256) == (2, 10.0)


def test_race_desk_one_fresh_run_for_many_simultaneous_presses():
    import threading

    desk = RaceDesk(min_gap_s=30)
    results, barrier = [], threading.Barrier(16)

    def press():
        barrier.wait()
        results.append(desk.request_fresh(2048))

    threads = [threading.Thread(target=press) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(1 for _, since in results if since is None) == 1
    assert {run for run, _ in results} == {1}


def test_race_desk_lock_serialises_races():
    import threading
    import time

    desk = RaceDesk()
    inside, overlaps = [0], [0]

    def race():
        with desk.lock:
            inside[0] += 1
            overlaps[0] = max(overlaps[0], inside[0])
            time.sleep(0.01)
            inside[0] -= 1

    threads = [threading.Thread(target=race) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps[0] == 1 and not desk.busy()


def test_race_labels_say_when():
    m = {"cpu": "Test CPU", "cores": 2, "torch_threads": 1, "date": "2025-01-01 10:00 UTC", "unix_time": 1000.0}
    assert race_machine_label(m, now=1150.0).startswith("Measured 2 minutes ago on this machine: Test CPU, 2 cores")
    assert race_machine_label({k: v for k, v in m.items() if k != "unix_time"}).startswith("Measured on this")
    assert time_ago(3) == "just now" and time_ago(1) == "just now" and time_ago(61) == "1 minute ago"
    assert time_ago(12) == "12 seconds ago" and time_ago(2 * 86400) == "2 days ago"


# ------------------------------------------------------------------ visitor text in Markdown (app/escape.py)


@pytest.mark.parametrize("evil", [
    "[x](http://e.vil)", "![t](http://e.vil/p.png)", "<img src=x onerror=alert(1)>", "<script>",
    "**bold** _it_ `code`", "# heading", ":red[alarm] :smile:", "$x^2$", "http://e.vil", "a@e.vil",
    "[[state]]", "&lt;b&gt;", "~~gone~~", "| a | b |",
])
def test_user_text_escapes_markdown_and_html(evil):
    out = user_text(evil, limit=100)
    # every ASCII punctuation character is preceded by a backslash: Markdown shows it literally
    i = 0
    while i < len(out):
        if out[i] == "\\":
            assert out[i + 1] in "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", out
            i += 2
            continue
        assert out[i] not in "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", out
        i += 1
    assert out.replace("\\", "") == evil  # nothing lost: the visitor sees what they typed
    for pattern in ("](", "**", "[[", "://", "~~"):  # no two punctuation characters stay adjacent
        assert pattern not in out


def test_user_text_controls_and_length():
    assert user_text("a\nb\rc\td\x00e\u202ef\u200bg\u2028h") == "a�b�c�d�e�f�g�h"
    assert user_text("x" * 100) == "x" * 39 + "…" and len(user_text("x" * 100)) == 40
    assert user_text("x" * 100, limit=5) == "xxxx…"
    assert user_text("x" * 40) == "x" * 40
    assert user_text(12.5) == "12\\.5" and user_text(None) == "None"
    assert user_text("é中文🙂") == "é中文🙂"
    # shortened first, then escaped: a cut never leaves a dangling backslash
    assert user_text("abc[def", limit=4) == "abc…"


def test_link_parsers_use_user_text():
    n, msg = parse_tokens_param("![t](http://e.vil/p.png)")
    assert n == 2048 and "](" not in msg and "!\\[" in msg
    *_, msgs = parse_scale_params("<img src=x>", "[x](http://e.vil)", "**on**")
    assert len(msgs) == 3 and all("](" not in m and "**" not in m for m in msgs)
    assert "\\<img" in msgs[0] and "\\*\\*on\\*\\*" in msgs[2]
