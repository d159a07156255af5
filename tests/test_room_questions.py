"""The room-poll question bank (app/room/questions.py): enough questions, tied to the pages, with options and
answers that come from the shipped models and the cost formulas (checked against direct calls, and by
planting other numbers in the functions they call), links that open a real view, and plain explanations.
"""
from __future__ import annotations

import re
import threading
import urllib.parse
from pathlib import Path

import numpy as np
import pytest
import torch

from app.room import questions as qs
from app.room.questions import QUESTIONS, Answer, Question, question, questions_on, times_words, which_more_options
from model import cost

REPO = Path(__file__).resolve().parent.parent
TOPIC_PAGES = ("read-along", "token-shift", "fading-memory", "cost-race", "at-scale", "caveats")
FORMULA_MARKS = re.compile(r"[=^√²³·×÷∑Σ$\\]|\b[a-zA-Z]\s*[+*/]\s*[a-zA-Z]\b|\bFLOPs?\b|\be[+-]?\d")
GRADE_MAX = 8.0


def real_page_paths() -> set[str]:
    """The url paths the app's navigation registers (streamlit_app.py)."""
    return set(re.findall(r'url_path="([^"]+)"', (REPO / "streamlit_app.py").read_text()))


@pytest.fixture
def fresh(monkeypatch):
    """Questions rebuilt from scratch in this test (and the kept ones untouched for the others)."""
    monkeypatch.setattr(qs, "_BUILT", {})
    return qs


def shipped():
    from app import loaders

    return loaders


def top5_direct(text: str) -> tuple[list[str], list[float]]:
    """The shipped RWKV's top-5 next tokens after `text`, by a forward pass in parallel mode (not the trace)."""
    loaders = shipped()
    model, tok = loaders.rwkv_model(), loaders.tokenizer()
    with torch.no_grad():
        logits, _ = model(torch.tensor([tok.encode(text)]))
    top = torch.topk(torch.softmax(logits[0, -1].double(), dim=-1), 5)
    return [tok.piece(int(i)) for i in top.indices], [float(p) for p in top.values]


# ------------------------------------------------------------------ the bank


def test_at_least_8_questions_covering_every_topic_page():
    assert len(QUESTIONS) >= 8
    assert len({q.id for q in QUESTIONS}) == len(QUESTIONS)
    assert {q.page for q in QUESTIONS} >= set(TOPIC_PAGES)
    assert {q.page for q in QUESTIONS} <= real_page_paths()
    for page in TOPIC_PAGES:
        assert questions_on(page) and all(q.page == page for q in questions_on(page))


@pytest.mark.parametrize("q", QUESTIONS, ids=lambda q: q.id)
def test_options_and_answer_are_well_formed(q: Question):
    options, answer = q.options, q.answer()
    assert isinstance(answer, Answer)
    assert 2 <= len(options) <= 6 and len(set(options)) == len(options) and all(o.strip() for o in options)
    assert answer.correct and all(0 <= i < len(options) for i in answer.correct)
    assert not answer.values or (len(answer.values) == len(options) and answer.value_label)
    assert answer.source and ("model" in answer.source or "cost formulas" in answer.source)
    assert q.prompt.endswith("?")


@pytest.mark.parametrize("q", QUESTIONS, ids=lambda q: q.id)
def test_link_opens_a_real_view(q: Question):
    from app.state import parse_view
    from app.texts_cost import parse_scale_params, parse_tokens_param

    link = q.answer().link
    parts = urllib.parse.urlsplit(link)
    assert not parts.scheme and not parts.netloc and parts.path.startswith("/")
    page = parts.path[1:]
    assert page in real_page_paths() and page == q.page
    params = urllib.parse.parse_qs(parts.query, strict_parsing=bool(parts.query))
    flat = {k: v[-1] for k, v in params.items()}
    if page in ("read-along", "token-shift", "fading-memory"):
        assert set(flat) <= {"prompt", "step"}
        view = parse_view(flat)
        assert not view.notes
        if view.step is not None:
            assert 1 <= view.step <= len(shipped().encode(view.prompt))
    elif page == "cost-race":
        assert parse_tokens_param(flat.get("tokens")) == (int(flat["tokens"]), None)
    elif page == "at-scale":
        size, context, _, notes = parse_scale_params(flat.get("size"), flat.get("context"), flat.get("gqa"))
        assert not notes and size == flat["size"] and context == int(flat["context"])
    else:
        assert not flat


@pytest.mark.parametrize("q", QUESTIONS, ids=lambda q: q.id)
def test_explanation_is_plain_words_with_numbers_and_no_formulas(q: Question):
    text = q.answer().explanation
    assert not FORMULA_MARKS.search(text), FORMULA_MARKS.search(text)
    assert re.search(r"\d", text), "the explanation should carry the computed numbers"
    assert not FORMULA_MARKS.search(q.prompt) and not any(FORMULA_MARKS.search(o) for o in q.options)


def test_explanations_read_at_grade_8_or_below():
    try:
        from tests.test_plain_words import grade, plain
    except BaseException as exc:  # the readability tools are missing: test_plain_words skips at import
        pytest.skip(f"readability tools unavailable: {exc}")
    grades = {q.id: grade(plain(q.prompt + " " + q.answer().explanation)) for q in QUESTIONS}
    assert max(grades.values()) <= GRADE_MAX, grades


def test_unknown_question_is_a_plain_key_error():
    with pytest.raises(KeyError, match="There is no question 'nope'"):
        question("nope")
    assert question(QUESTIONS[0].id) is QUESTIONS[0]


def test_answers_are_kept_after_the_first_call():
    q = question("next-word")
    first = q.answer()
    assert q.answer() is first and q.options is q.options


def test_a_question_is_built_once_even_when_many_ask_at_once(fresh):
    builds, gate = [], threading.Event()

    def slow_build():
        gate.wait(5)
        builds.append(1)
        return ("a", "b"), Answer(correct=(1,), explanation="b, 2", source="test", link="/start")

    q = Question("test-once", "start", "a or b?", slow_build)
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(q.answer())) for _ in range(6)]
    for th in threads:
        th.start()
    gate.set()
    for th in threads:
        th.join(10)
    assert len(builds) == 1 and len(seen) == 6 and all(a is seen[0] for a in seen)


# ------------------------------------------------------------------ computed from the model


def test_next_word_options_are_the_models_real_top5_with_their_probabilities():
    q = question("next-word")
    pieces, probs = top5_direct(qs.READ_PROMPT)
    labels = qs.token_labels(pieces)
    answer = q.answer()
    assert set(q.options) == set(labels)
    by_label = dict(zip(q.options, answer.values))
    for label, p in zip(labels, probs):
        assert by_label[label] == pytest.approx(p, abs=1e-4)
    assert q.options[answer.correct[0]] == labels[0]
    assert answer.value_label == "model's probability"
    assert labels[0] in answer.explanation and qs.percent(probs[0]) in answer.explanation
    step = len(shipped().encode(qs.READ_PROMPT))  # the link opens on the prompt's last token: the guess asked about
    assert answer.link == "/read-along?" + urllib.parse.urlencode({"prompt": qs.READ_PROMPT, "step": step})


def test_next_word_order_is_fixed_and_not_by_rank(fresh):
    first = question("next-word").options
    fresh._BUILT.clear()
    assert question("next-word").options == first
    assert qs.deterministic_order(list(first), "next-word") == qs.deterministic_order(list(first), "next-word")
    orders = {tuple(qs.deterministic_order([f"w{i}" for i in range(5)], salt)) for salt in "abcdefgh"}
    assert len({o.index(0) for o in orders}) > 1  # the top one lands in different places


def test_token_shift_answer_follows_the_models_shares(fresh, monkeypatch):
    from app import figures

    q = question("shift-layer")
    trace = shipped().rwkv_trace(tuple(shipped().encode(qs.SHIFT_PROMPT)))
    direct = figures.previous_token_share(trace)["k"][-1]
    answer = q.answer()
    np.testing.assert_allclose(answer.values, direct, rtol=1e-6)
    assert answer.correct == (int(np.argmax(direct)),)
    assert q.options == tuple(f"Layer {i + 1}" for i in range(len(direct)))

    planted = {k: np.broadcast_to(np.array([0.1, 0.2, 0.9, 0.3][: len(direct)]), v.shape).copy()
               for k, v in figures.previous_token_share(trace).items()}
    monkeypatch.setattr(figures, "previous_token_share", lambda _trace: planted)
    fresh._BUILT.clear()
    assert question("shift-layer").answer().correct == (2,)
    assert "90%" in question("shift-layer").answer().explanation


def test_fastest_layer_is_the_shortest_typical_half_life(fresh, monkeypatch):
    from model import traces

    trace = shipped().rwkv_trace(tuple(shipped().encode(qs.SHIFT_PROMPT)))
    typical = np.median(traces.half_life_tokens(trace.decay), axis=1)
    answer = question("fastest-layer").answer()
    np.testing.assert_allclose(answer.values, typical)
    assert answer.correct == (int(np.argmin(typical)),)

    real = traces.half_life_tokens
    monkeypatch.setattr(traces, "half_life_tokens", lambda decay: real(decay)[::-1])
    fresh._BUILT.clear()
    assert question("fastest-layer").answer().correct == (len(typical) - 1 - int(np.argmin(typical)),)


def test_recall_answer_comes_from_the_decay():
    trace = shipped().rwkv_trace(tuple(shipped().encode(qs.SHIFT_PROMPT)))
    kept = trace.decay.astype(np.float64) ** qs.RECALL_DISTANCE
    answer = question("recall-far-back").answer()
    assert qs.percent(float(kept.max())) in answer.explanation
    assert qs.percent(float((kept >= qs.RECALL_KEPT_MIN).mean())) in answer.explanation
    assert answer.correct and 0 <= answer.correct[0] < len(question("recall-far-back").options)


@pytest.mark.parametrize("decay, expected", [(1.0, "Yes"), (0.5, "No")])
def test_recall_answer_follows_a_planted_decay(fresh, monkeypatch, decay, expected):
    """Every channel keeping everything (decay 1) or fading fast (0.5): the answer changes with the numbers."""
    from app import loaders

    real = loaders.rwkv_trace

    def planted(ids, *args, **kwargs):
        trace = real(ids, *args, **kwargs)
        return type(trace)(**{**trace.__dict__, "decay": np.full_like(trace.decay, decay)})

    monkeypatch.setattr(loaders, "rwkv_trace", planted)
    fresh._BUILT.clear()
    q = question("recall-far-back")
    assert q.options[q.answer().correct[0]].startswith(expected), q.options


# ------------------------------------------------------------------ computed from the cost formulas


def toy_configs():
    return shipped().rwkv_model().cfg, shipped().gpt_model().cfg


def test_kv_cache_outgrows_state_at_the_computed_token(fresh):
    rcfg, gcfg = toy_configs()
    state = 5 * rcfg.n_layer * rcfg.n_embd * 4  # fp32 numbers, as the app's models run
    per_token = 2 * gcfg.n_layer * gcfg.n_head * gcfg.head_dim * 4
    q = question("kv-outgrows-state")
    picked = q.options[q.answer().correct[0]]
    n = int(re.search(r"[\d,]+", picked).group().replace(",", ""))
    assert n * per_token > state >= (n - 1) * per_token
    from app.steps import kv_cache_bytes_after_each  # the read-along page's own numbers agree

    trace = shipped().rwkv_trace(tuple(shipped().encode(qs.READ_PROMPT)))
    kv = kv_cache_bytes_after_each(gcfg, n)
    assert kv[n - 1] > trace.state_bytes and (n == 1 or kv[n - 2] <= trace.state_bytes)
    assert f"step={n}" in q.answer().link


def test_memory_after_500_follows_the_formula(fresh, monkeypatch):
    q = question("memory-after-500")
    assert q.options[q.answer().correct[0]] == "About the same size"
    real = cost.memory_per_conversation

    def growing(size, context, *args, **kw):  # plant an RWKV whose memory grew like a KV cache
        out = dict(real(size, context, *args, **kw))
        out["rwkv"] *= context
        return out

    monkeypatch.setattr(cost, "memory_per_conversation", growing)
    fresh._BUILT.clear()
    q = question("memory-after-500")
    assert q.options[q.answer().correct[0]] == "100 times bigger"


def test_work_at_8k_matches_the_flop_formulas():
    rcfg, _ = toy_configs()
    n = qs.RACE_WORK_TOKENS
    rwkv = cost.rwkv4_flops_per_token(rcfg.n_layer, rcfg.n_embd, rcfg.vocab_size)
    transformer = cost.transformer_decode_flops_per_token(rcfg.n_layer, rcfg.n_embd, rcfg.vocab_size, n)
    q = question("work-at-8k")
    answer = q.answer()
    assert q.options[answer.correct[0]] == f"The transformer, about {times_words(transformer / rwkv)} times more"
    assert cost.human_count(rwkv) in answer.explanation and cost.human_count(transformer) in answer.explanation
    assert answer.link == f"/cost-race?tokens={n}"


def test_7b_memory_at_32k_matches_the_formulas():
    size = cost.MODEL_SIZES["7B"]
    state = cost.rwkv4_state_bytes(size.n_layer, size.d_model, 4)
    cache = cost.kv_cache_bytes(32768, size.n_layer, size.gqa_kv_heads, size.head_dim, 2)
    q = question("memory-7b-32k")
    answer = q.answer()
    assert q.options[answer.correct[0]] == f"The transformer, about {times_words(cache / state)} times more"
    assert cost.human_bytes(cache) in answer.explanation and cost.human_bytes(state) in answer.explanation
    assert answer.link == "/at-scale?size=7B&context=32768&gqa=1"


def test_short_text_work_is_about_the_same_by_the_formulas():
    size = cost.MODEL_SIZES["7B"]
    rwkv = cost.rwkv4_flops_per_token(size.n_layer, size.d_model, size.vocab)
    kv_width = size.gqa_kv_heads * size.head_dim  # the transformer with GQA, as the poll and At scale compare
    transformer = cost.transformer_decode_flops_per_token(size.n_layer, size.d_model, size.vocab, 1024,
                                                          kv_width=kv_width)
    assert transformer == cost.flops_per_token(size, 1024, True)["transformer"]
    q = question("short-text-work")
    assert "grouped-query attention" in q.answer().explanation
    same = max(rwkv, transformer) / min(rwkv, transformer) < 1.5
    assert (q.options[q.answer().correct[0]] == "About the same") == same


# ------------------------------------------------------------------ helpers


@pytest.mark.parametrize("ratio", [1.0, 1.4, 1.6, 2.0, 2.6, 5.6, 9.4, 9.6, 10, 30, 99, 100, 333, 1638.4, 1e4, 3e6])
def test_which_more_options_are_distinct_and_hold_the_truth(ratio):
    for a, b in ((1.0, ratio), (ratio, 1.0)):
        options, correct = which_more_options(a, b, "RWKV", "The transformer")
        assert 4 <= len(options) <= 6 and len(set(options)) == len(options)
        if ratio < 1.5:
            assert options[correct] == "About the same"
        else:
            winner = "The transformer" if b > a else "RWKV"
            assert options[correct] == f"{winner}, about {times_words(ratio)} times more"


def test_times_words_and_percent():
    assert [times_words(x) for x in (1.2, 6.49, 9.6, 12.3, 100, 1638.4, 1e6)] == \
        ["1", "6", "10", "12", "100", "1,600", "1,000,000"]
    assert [qs.percent(x) for x in (1.0, 0.9992, 0.5, 0.004)] == ["100.0%", "99.9%", "50%", "less than 1%"]


def test_page_link_encodes_and_refuses_unknown_pages():
    assert qs.page_link("read-along", prompt='Tom said, "hi" & left', step=2) == \
        "/read-along?prompt=Tom+said%2C+%22hi%22+%26+left&step=2"
    with pytest.raises(ValueError):
        qs.page_link("nowhere")


def test_token_labels_keep_lookalikes_apart():
    assert qs.token_labels([" a", "b"]) == ["“a”", "“b”"]
    assert qs.token_labels([" a", "a"]) == ["“\u00a0a”", "“a”"]
    assert qs.token_labels(["\n", " x"]) == ["“↵”", "“\u00a0x”"]
