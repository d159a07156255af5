"""Cost formulas reproduce the numbers printed in their sources (model/cost.py)."""
import json

import pytest

from model import cost
from model.gpt import GPT, GPTConfig
from app.escape import user_text
from app.texts_cost import parse_scale_params, parse_tokens_param, race_machine_label, time_ago
from model.race import machine_description
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


def test_gqa_trims_the_weights_work_not_the_attention_work():
    """With grouped-query attention the key and value projections shrink (so 2N shrinks as the weights do),
    but every query head still reads every cached token: the attention term is the same."""
    s = cost.MODEL_SIZES["7B"]
    kv_width = s.gqa_kv_heads * s.head_dim
    assert kv_width < s.d_model
    full0, gqa0 = (cost.flops_per_token(s, 0, g)["transformer"] for g in (False, True))
    assert full0 - gqa0 == 2 * s.n_layer * 2 * s.d_model * (s.d_model - kv_width)
    assert gqa0 == 2 * (s.transformer_params(gqa=True) - s.vocab * s.d_model)  # 2N + 2VD, N without the embedding
    full, gqa = (cost.flops_per_token(s, 32768, g)["transformer"] for g in (False, True))
    assert full - full0 == gqa - gqa0 == 4 * s.n_layer * 32768 * s.d_model
    assert cost.flops_per_token(s, 32768, True)["rwkv"] == cost.flops_per_token(s, 32768)["rwkv"]
    n = cost.at_scale_numbers(s, 32768, gqa=True)
    assert n["transformer_flops"] == gqa and cost.flops_curves(s, [32768], gqa=True)["transformer"] == [gqa]


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


# ------------------------------------------------------------------ the cost race's words (the race: tests/test_race.py)


def test_race_labels_say_when():
    m = {"cpu": "Test CPU", "cores": 2, "torch_threads": 1, "date": "2025-01-01 10:00 UTC", "unix_time": 1000.0}
    assert race_machine_label(m, now=1150.0).startswith("Measured 2 minutes ago on the computer that runs this app: Test CPU, 2 cores")
    assert race_machine_label({k: v for k, v in m.items() if k != "unix_time"}).startswith("Measured on the computer")
    assert time_ago(3) == "just now" and time_ago(1) == "just now" and time_ago(61) == "1 minute ago"
    assert time_ago(12) == "12 seconds ago" and time_ago(2 * 86400) == "2 days ago"
    # the CPU name is read back from a file: escaped like visitor text
    assert "\\[x\\]\\(http" in race_machine_label({**m, "cpu": "[x](http://e.vil)"})
    d = machine_description()
    assert d["cores"] >= 1 and d["cpu"]


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
    assert n == 8192 and "](" not in msg and "!\\[" in msg
    *_, msgs = parse_scale_params("<img src=x>", "[x](http://e.vil)", "**on**")
    assert len(msgs) == 3 and all("](" not in m and "**" not in m for m in msgs)
    assert "\\<img" in msgs[0] and "\\*\\*on\\*\\*" in msgs[2]


# ------------------------------------------------------------------ what the cost pages say (issue #7, items 3 and 9)


def test_race_words_claim_growth_only_when_measured():
    from app import texts_cost as tx
    from model import race
    from tests.test_race import synthetic_race

    clear = race.race_rows(synthetic_race([1, 8192], lambda n: 2.0, lambda n: 2.0 + n / 1000, spread=0.2))
    v = race.growth_verdict(clear)
    assert tx.race_verdict(v).startswith("The transformer's time climbs: token 8,192 took 10.19 ms, 5.1×")
    assert "RWKV's line stays level; the transformer's climbs" in tx.race_ms_caption(v, 5)

    noisy = race.race_rows(synthetic_race([256, 1024, 2048], lambda n: 2.0,
                                          lambda n: {256: 8.79, 1024: 5.64, 2048: 8.46}[n], spread=2.0))
    v = race.growth_verdict(noisy)
    said = tx.race_verdict(v)
    assert said.startswith("This time the race cannot show the transformer's time growing. At token 2,048")
    assert "climbs" not in said and "climbs" not in tx.race_ms_caption(v, 5)
    assert "too spread out to show it" in tx.race_ms_caption(v, 5)

    one = race.growth_verdict(race.race_rows(synthetic_race([64], lambda n: 1.0, lambda n: 1.0)))
    assert "Only one length was timed" in tx.race_verdict(one)


def test_race_table_is_the_chart_rows():
    from app import texts_cost as tx
    from model import race
    from tests.test_race import synthetic_race

    rows = race.race_rows(synthetic_race([1, 64, 256], lambda n: 2.0, lambda n: 2.0 + n / 100, spread=0.1))
    table = tx.race_table(rows)
    assert [t["token"] for t in table] == [1, 64, 256]
    assert [t["transformer ms"] for t in table] == [round(r["gpt_ms"], 2) for r in rows]
    assert table[2]["transformer middle half"] == f"{rows[2]['gpt_p25']:.2f}–{rows[2]['gpt_p75']:.2f}"
    assert "the [[median]] of the 5 tries" in tx.race_table_caption(5, {"cpu": "Test CPU", "cores": 2, "date": "d"})
    assert "Measured on Test CPU, 2 cores" in tx.race_table_caption(5, {"cpu": "Test CPU", "cores": 2, "date": "d"})


def test_at_scale_leads_with_the_gqa_transformer():
    from app import texts_cost as tx

    fits = tx.gpu_fits(cost.MODEL_SIZES["7B"], 32768)
    assert (fits["rwkv"], fits["transformer_gqa"], fits["transformer"]) == (24_877, 15, 3)
    said = tx.gpu_fits_sentence(fits)
    assert said.index("15 with a transformer that uses [[GQA]]") < said.index("3 with one that does not")
    assert "not even one with one that does not" in tx.gpu_fits_sentence(tx.gpu_fits(cost.MODEL_SIZES["7B"], 1_048_576))
    assert len(tx.GQA_TOGGLE) <= 10  # "Transformer with GQA" was cut to "Transformer wit…" at 1280 px
    n = cost.at_scale_numbers(cost.MODEL_SIZES["7B"], 32768, False)
    sentences = tx.scale_sentences(n, fits)
    assert not any("conversations with RWKV" in s for s in sentences)  # the GPU count is said once, with both
    assert "without [[GQA]]" in sentences[0]


def test_race_note_says_the_load_was_above_the_cores_only_when_it_was():
    from app.texts_cost import race_method_note

    def note(load, cores):
        cfg = {"n_layer": 4, "n_embd": 192, "vocab_size": 1000, "n_head": 4}
        result = {"config": {"rwkv": cfg, "gpt": cfg, "real_prefix": 64}, "lengths": [1, 64], "seconds": 5.0,
                  "repeats": 30, "machine": {"load_1min": load, "cores": cores}}
        return race_method_note(result)

    assert "load average as it started: 1.8 on 2 cores." in note(1.8, 2)
    assert "competing" not in note(1.8, 2)
    assert "3.5 on 2 cores (above the number of cores: other programs were competing for it)." in note(3.5, 2)
