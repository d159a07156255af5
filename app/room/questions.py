"""The question bank for room polls ("predict, then reveal"): one question per idea of a page, whose options
and answer are computed at run time from the shipped models (`app.loaders`, `model/traces.py`) or from the
cost formulas (`model/cost.py`), never typed. Each question is built the first time it is shown, then kept:
`options` and `answer()` cost nothing after that.

Example:
    >>> q = question("memory-after-500")
    >>> q.page, q.options[q.answer().correct[0]]
    ('cost-race', 'About the same size')
    >>> q.answer().link
    '/cost-race?tokens=512'
"""
from __future__ import annotations

import hashlib
import math
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from app.texts import DEFAULT_PROMPT
from model import cost
from model.cost import human_bytes, human_count

PAGES = ("start", "read-along", "token-shift", "fading-memory", "cost-race", "at-scale", "caveats", "glossary")

SRC_MODEL = "computed now from the shipped RWKV model (model/traces.py: trace_rwkv)"
SRC_SHIFT = ("computed now from the shipped RWKV model's token shift (model/traces.py: trace_rwkv; "
             "app/figures.py: previous_token_share)")
SRC_DECAY = ("computed now from the decay in the shipped RWKV model's trained weights "
             "(model/traces.py: half_life_tokens)")
SRC_MEMORY = ("cost formulas: RWKV state 5 × layers × width numbers (RWKV paper, arXiv 2305.13048, appendix D) and "
              "KV cache 2 × layers × heads × head size numbers per token (vLLM paper, arXiv 2309.06180 §3), "
              "for the shipped models, 4 bytes a number (model/cost.py)")
SRC_FLOPS = ("cost formulas: RWKV 2(VD + 13D²L), which reproduces the RWKV paper's Table 2 (arXiv 2305.13048); "
             "transformer 2(VD + 12D²L) + 4·L·context·D after Kaplan et al. eq. 2.2 (arXiv 2001.08361) "
             "(model/cost.py: flops_per_token)")
SRC_SCALE = ("cost formulas for the RWKV-4 7B shape and a transformer of the same shape "
             "(model/cost.py: at_scale_numbers; RWKV paper arXiv 2305.13048 appendix D, vLLM arXiv 2309.06180 §3, "
             "GQA arXiv 2305.13245)")
SRC_RECALL = ("computed now from the decay in the shipped RWKV model's trained weights (model/traces.py: "
              "half_life_tokens; app/texts.py: memory_facts)")

READ_PROMPT = "Once upon a"  # the example: the model's top-5 guesses after it
SHIFT_PROMPT = "Once upon a time"
RACE_MEMORY_TOKENS = (5, 500)
RACE_MEMORY_LINK_TOKENS = 512  # the shortest race choice that reaches 500 tokens
RACE_WORK_TOKENS = 8192  # the longest race: a length the cost race page really shows
SCALE_SIZE, SCALE_WORDS, SCALE_LONG, SCALE_SHORT = "7B", "7 billion", 32768, 1024  # the at-scale page's default view
RECALL_DISTANCE = 200  # tokens between the name and the question about it
RECALL_KEPT_MIN = 0.01  # a channel that keeps less than 1% of a token counts as having let it go


@dataclass(frozen=True)
class Answer:
    correct: tuple[int, ...]  # indices of the right option(s)
    explanation: str  # plain English, with the computed numbers in it
    source: str  # where the numbers come from
    link: str  # relative deep link to the view that explains it
    values: tuple[float, ...] = ()  # optional per-option number shown at reveal, same order as the options
    value_label: str = ""  # what `values` are, e.g. "model's probability"


Built = tuple[tuple[str, ...], Answer]


@dataclass(frozen=True)
class Question:
    """One poll question. `options` and `answer()` are computed by `build` on first use, then kept.

    >>> q = Question("demo", "start", "Two or three?", lambda: (("two", "three"), Answer((0,), "It is 2.", "demo", "/start")))
    >>> q.options, q.answer().correct
    (('two', 'three'), (0,))
    """

    id: str
    page: str  # url path of the page it belongs to, e.g. "read-along"
    prompt: str  # the question, plain words
    build: Callable[[], Built] = field(repr=False, compare=False)  # computes (options, answer)

    @property
    def options(self) -> tuple[str, ...]:
        """2 to 6 options, computed on first use (some from the model) and kept."""
        return _built(self)[0]

    def answer(self) -> Answer:
        """The answer, computed on first use from the models or the formulas, and kept."""
        return _built(self)[1]


_BUILT: dict[str, Built] = {}
_BUILD_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_LOCK = threading.Lock()


def _built(q: Question) -> Built:
    done = _BUILT.get(q.id)
    if done is not None:
        return done
    with _LOCKS_LOCK:
        lock = _BUILD_LOCKS.setdefault(q.id, threading.Lock())
    with lock:  # a room of visitors asking at once builds each question once
        if q.id not in _BUILT:
            options, answer = q.build()
            _check_built(q.id, options, answer)
            _BUILT[q.id] = (tuple(options), answer)
        return _BUILT[q.id]


def _check_built(qid: str, options, answer: Answer) -> None:
    if not 2 <= len(options) <= 6 or len(set(options)) != len(options):
        raise ValueError(f"question {qid!r} built {len(options)} options, or repeated ones: {options}")
    if not answer.correct or not all(0 <= i < len(options) for i in answer.correct):
        raise ValueError(f"question {qid!r}: correct options {answer.correct} out of range")
    if answer.values and len(answer.values) != len(options):
        raise ValueError(f"question {qid!r}: {len(answer.values)} values for {len(options)} options")


# ------------------------------------------------------------------ small pure helpers


def page_link(page: str, **params) -> str:
    """A relative link to a page's view, parameters URL-encoded.

    >>> page_link("read-along", prompt="Once upon a", step=3)
    '/read-along?prompt=Once+upon+a&step=3'
    """
    if page not in PAGES:
        raise ValueError(f"no page {page!r}")
    return "/" + page + ("?" + urllib.parse.urlencode(params) if params else "")


def times_words(ratio: float) -> str:
    """A ratio as a reader says it: whole numbers below 10, two significant figures above.

    >>> times_words(5.6), times_words(51.2), times_words(1638.4), times_words(6553.6)
    ('6', '51', '1,600', '6,600')
    """
    if ratio < 9.5:
        return f"{round(ratio)}"
    digits = max(0, math.floor(math.log10(ratio)) - 1)
    return f"{round(ratio / 10**digits) * 10**digits:,}"


def percent(share: float) -> str:
    """A share as a plain percentage: '99.9%' near 100, 'less than 1%' below it, whole percent between.

    >>> percent(0.9992), percent(0.52), percent(0.00002)
    ('99.9%', '52%', 'less than 1%')
    """
    if share >= 0.995:
        return f"{100 * share:.1f}%"
    if share < 0.01:
        return "less than 1%"
    return f"{100 * share:.0f}%"


def deterministic_order(labels: list[str], salt: str) -> list[int]:
    """Indices of `labels` in an order that is fixed (the same on every process and run) but not by rank,
    so the model's top guess is not always shown first.

    >>> deterministic_order(["a", "b", "c"], "x") == deterministic_order(["a", "b", "c"], "x")
    True
    """
    return sorted(range(len(labels)), key=lambda i: hashlib.sha256(f"{salt}|{labels[i]}".encode()).hexdigest())


def token_labels(pieces: list[str]) -> list[str]:
    """Tokens as poll options: in quotes, without the leading space, unless two would then look alike.

    >>> token_labels([" time", " way"])
    ['“time”', '“way”']
    """
    from app.stepper import display_piece

    plain = [p.strip() for p in pieces]
    if any(not p for p in plain) or len(set(plain)) != len(plain):
        plain = [display_piece(p) for p in pieces]
    return [f"“{p}”" for p in plain]


def nearest(value: float, candidates: list[float]) -> int:
    """Index of the candidate closest to `value` on a log scale (ratios: 3 is nearer 1 than 10).

    >>> nearest(1.0, [1, 5, 100, 500]), nearest(60, [1, 5, 100, 500])
    (0, 2)
    """
    return min(range(len(candidates)), key=lambda i: abs(math.log(value / candidates[i])))


LADDER = (2, 10, 100, 1_000, 10_000, 100_000, 1_000_000)
SAME = "About the same"


def which_more_options(value_a: float, value_b: float, name_a: str, name_b: str) -> tuple[tuple[str, ...], int]:
    """Options for "which needs more, and how much more?", built around the computed ratio: 'About the same',
    the reverse of the truth, the true ratio, and the two ratios of a ladder (2, 10, 100, …) nearest to it but
    at least 2.5 times off. Returns (options, index of the true one); ratios under 1.5 count as about the same.

    >>> options, correct = which_more_options(1.0, 5.6, "RWKV", "The transformer")
    >>> options[1:], correct
    (('RWKV, about 6 times more', 'The transformer, about 2 times more', 'The transformer, about 6 times more', \
'The transformer, about 100 times more'), 3)
    >>> which_more_options(14.4, 13.8, "RWKV", "The transformer")[1]
    0
    """
    ratio = max(value_a, value_b) / min(value_a, value_b)
    if ratio < 1.5:
        options = (SAME, f"{name_a}, about 2 times more", f"{name_b}, about 2 times more",
                   f"{name_a}, about 10 times more", f"{name_b}, about 10 times more")
        return options, 0
    winner, loser = (name_a, name_b) if value_a > value_b else (name_b, name_a)
    far = sorted((k for k in LADDER if max(k / ratio, ratio / k) >= 2.5), key=lambda k: abs(math.log(k / ratio)))[:2]
    factors = sorted({ratio, *far})
    truth = f"{winner}, about {times_words(ratio)} times more"
    options = (SAME, f"{loser}, about {times_words(ratio)} times more",
               *(truth if k == ratio else f"{winner}, about {times_words(k)} times more" for k in factors))
    return options, options.index(truth)


def _other_guesses(labels: list[str], probs: list[float]) -> str:
    """'Its other guesses: “a” 20%, “b” 5%.', or, when all are tiny, 'Its other guesses, “a” and “b”, get less
    than 1% each.'"""
    if all(p < 0.01 for p in probs):
        return f"Its other guesses, {', '.join(labels[:-1])} and {labels[-1]}, get less than 1% each."
    return "Its other guesses: " + ", ".join(f"{w} {percent(p)}" for w, p in zip(labels, probs)) + "."


def _tokens_words(n: float) -> str:
    """A half-life in words: 'less than one token' below 1, else '2.6 tokens'."""
    return "less than one token" if n < 1 else f"{n:.1f} tokens"


def _layer_options(n_layers: int) -> tuple[str, ...]:
    return tuple(f"Layer {i + 1}" for i in range(n_layers))


# ------------------------------------------------------------------ the shipped models


def _shipped():
    """The shipped models, tokenizer and traces, from the app's cached loaders (one copy per process)."""
    from app import loaders

    return loaders


def _trace(text: str):
    loaders = _shipped()
    return loaders.rwkv_trace(tuple(loaders.encode(text)))


def _toy_shapes() -> tuple:
    """(rwkv config, gpt config) of the shipped models."""
    loaders = _shipped()
    return loaders.rwkv_model().cfg, loaders.gpt_model().cfg


# ------------------------------------------------------------------ the questions, one builder each


def _next_word() -> Built:
    trace = _trace(READ_PROMPT)
    pieces, probs = trace.top_pieces[-1], [float(p) for p in trace.top_probs[-1]]
    labels = token_labels(pieces)
    order = deterministic_order(labels, "next-word")
    options = tuple(labels[i] for i in order)
    values = tuple(probs[i] for i in order)
    explanation = (f"The model's top guess after “{READ_PROMPT}” is {labels[0]}: it gives it {percent(probs[0])}. "
                   f"{_other_guesses(labels[1:], probs[1:])} It learned this from the children's stories it was "
                   "trained on.")
    return options, Answer(correct=(order.index(0),), explanation=explanation, source=SRC_MODEL,
                           link=page_link("read-along", prompt=READ_PROMPT, step=len(trace.ids)),
                           values=values, value_label="model's probability")


def _kv_outgrows_state() -> Built:
    rcfg, gcfg = _toy_shapes()
    state = cost.rwkv4_state_bytes(rcfg.n_layer, rcfg.n_embd, cost.BYTES["fp32"])
    per_token = cost.kv_cache_bytes_per_token(gcfg.n_layer, gcfg.n_head, gcfg.head_dim, cost.BYTES["fp32"])
    passes = state // per_token + 1  # the first token count whose cache is bigger than the whole state
    others = sorted((n for n in (1, 10, 100, 1000) if max(n / passes, passes / n) >= 3),
                    key=lambda n: abs(math.log(n / passes)))[:3]
    counts = sorted({passes, *others})
    options = tuple(f"After {n:,} token{'s' if n != 1 else ''}" for n in counts) + ("Never: it stays smaller",)
    explanation = (f"RWKV's memory is {human_bytes(state)}, whatever it reads. The same-size transformer adds "
                   f"{human_bytes(per_token)} to its KV cache with every token. After {passes} tokens it holds "
                   f"{human_bytes(passes * per_token)}, already more. After 100 tokens it holds "
                   f"{human_bytes(100 * per_token)}, about {times_words(100 * per_token / state)} times RWKV's memory.")
    shown = next((p for p in (READ_PROMPT, DEFAULT_PROMPT) if len(_trace(p).ids) >= passes), DEFAULT_PROMPT)
    return options, Answer(correct=(counts.index(passes),), explanation=explanation, source=SRC_MEMORY,
                           link=page_link("read-along", prompt=shown, step=min(passes, len(_trace(shown).ids))))


def _shift_layer() -> Built:
    from app.figures import previous_token_share

    trace = _trace(SHIFT_PROMPT)
    t = len(trace.ids) - 1
    shares = [float(s) for s in previous_token_share(trace)["k"][t]]
    most, least = int(np.argmax(shares)), int(np.argmin(shares))
    word, before = token_labels([trace.pieces[t], trace.pieces[t - 1]])
    explanation = (f"Layer {most + 1} takes the most: {percent(shares[most])} of what feeds its key comes from "
                   f"{before}, the token before {word}. Layer {least + 1} takes the least: {percent(shares[least])}. "
                   "Each layer learned its own mix in training.")
    return _layer_options(len(shares)), Answer(
        correct=(most,), explanation=explanation, source=SRC_SHIFT,
        link=page_link("token-shift", prompt=SHIFT_PROMPT, step=t + 1),
        values=tuple(shares), value_label="share from the previous token")


def _fastest_layer() -> Built:
    from model.traces import half_life_tokens

    trace = _trace(SHIFT_PROMPT)
    typical = [float(np.median(row)) for row in half_life_tokens(trace.decay)]
    fast, slow = int(np.argmin(typical)), int(np.argmax(typical))
    explanation = (f"Layer {fast + 1} forgets fastest: its typical memory channel fades to half in "
                   f"{_tokens_words(typical[fast])}. In layer {slow + 1}, the typical channel "
                   f"takes {_tokens_words(typical[slow])}. The model learned these speeds in training. (Typical means "
                   "the middle channel of the layer.)")
    return _layer_options(len(typical)), Answer(
        correct=(fast,), explanation=explanation, source=SRC_DECAY, link=page_link("fading-memory"),
        values=tuple(typical), value_label="typical half-life, in tokens")


def _memory_after_500() -> Built:
    rcfg, gcfg = _toy_shapes()
    few, many = RACE_MEMORY_TOKENS
    shape = cost.ModelSize("shipped", rcfg.n_layer, rcfg.n_embd, rcfg.vocab_size)
    state = [cost.memory_per_conversation(shape, n, rwkv_bytes=cost.BYTES["fp32"])["rwkv"] for n in (few, many)]
    kv = [cost.kv_cache_bytes(n, gcfg.n_layer, gcfg.n_head, gcfg.head_dim, cost.BYTES["fp32"]) for n in (few, many)]
    ladder = [1, few, many / few, many]
    options = ("About the same size", f"{few} times bigger", f"{many // few} times bigger", f"{many} times bigger")
    explanation = (f"RWKV's memory is {human_bytes(state[0])} after {few} tokens and still {human_bytes(state[1])} "
                   f"after {many}: it never grows. The same-size transformer's KV cache grows from {human_bytes(kv[0])} to "
                   f"{human_bytes(kv[1])}, about {times_words(kv[1] / kv[0])} times bigger.")
    return options, Answer(correct=(nearest(state[1] / state[0], ladder),), explanation=explanation, source=SRC_MEMORY,
                           link=page_link("cost-race", tokens=RACE_MEMORY_LINK_TOKENS))


def _work_at_8k() -> Built:
    rcfg, _ = _toy_shapes()
    shape = cost.ModelSize("shipped", rcfg.n_layer, rcfg.n_embd, rcfg.vocab_size)
    flops = cost.flops_per_token(shape, RACE_WORK_TOKENS)
    options, correct = which_more_options(flops["rwkv"], flops["transformer"], "RWKV", "The transformer")
    ratio = flops["transformer"] / flops["rwkv"]
    explanation = (f"After {RACE_WORK_TOKENS:,} tokens, the small transformer needs "
                   f"{human_count(flops['transformer'])} steps of arithmetic for the next token: it looks back at "
                   f"every token in its cache. RWKV needs {human_count(flops['rwkv'])}, the same as for its first "
                   f"token. That is about {times_words(ratio)} times less work for RWKV.")
    return options, Answer(correct=(correct,), explanation=explanation, source=SRC_FLOPS,
                           link=page_link("cost-race", tokens=RACE_WORK_TOKENS))


def _memory_7b_32k() -> Built:
    size = cost.MODEL_SIZES[SCALE_SIZE]
    gqa = cost.at_scale_numbers(size, SCALE_LONG, gqa=True)
    full = cost.at_scale_numbers(size, SCALE_LONG, gqa=False)
    options, correct = which_more_options(gqa["rwkv_bytes"], gqa["transformer_bytes"], "RWKV", "The transformer")
    explanation = (f"For one conversation of {SCALE_LONG:,} tokens, the transformer's KV cache holds "
                   f"{human_bytes(gqa['transformer_bytes'])}, even with the trick recent transformers use to shrink "
                   f"it (grouped-query attention). RWKV's memory holds {human_bytes(gqa['rwkv_bytes'])}, however long "
                   f"the conversation. That is about {times_words(gqa['memory_ratio'])} times less. Without the trick, "
                   f"the cache would be {human_bytes(full['transformer_bytes'])}.")
    return options, Answer(correct=(correct,), explanation=explanation, source=SRC_SCALE,
                           link=page_link("at-scale", size=SCALE_SIZE, context=SCALE_LONG, gqa=1))


def _short_text_work() -> Built:
    """The transformer uses grouped-query attention, as recent ones are built, as in the 32K memory poll and
    At scale's default: the room compares the same two models it just saw."""
    size = cost.MODEL_SIZES[SCALE_SIZE]
    short = cost.flops_per_token(size, SCALE_SHORT, True)
    long = cost.flops_per_token(size, SCALE_LONG, True)
    options, correct = which_more_options(short["rwkv"], short["transformer"], "RWKV", "The transformer")
    verdict = ("about the same. Most of the work is the model's own weights, the same for both." if correct == 0 else
               f"{options[correct].lower()}.")
    explanation = (f"At {SCALE_SHORT:,} tokens, RWKV needs {human_count(short['rwkv'])} steps of arithmetic per "
                   f"token and the transformer (with grouped-query attention, as recent ones are built) "
                   f"{human_count(short['transformer'])}: {verdict} The gap grows with the text: at {SCALE_LONG:,} "
                   f"tokens the transformer needs {human_count(long['transformer'])}.")
    return options, Answer(correct=(correct,), explanation=explanation, source=SRC_FLOPS,
                           link=page_link("at-scale", size=SCALE_SIZE, context=SCALE_SHORT, gqa=1))


def _recall_far_back() -> Built:
    from app.texts import memory_facts

    trace = _trace(SHIFT_PROMPT)
    kept = np.asarray(trace.decay, dtype=np.float64) ** RECALL_DISTANCE  # share of the token left in each channel
    slowest = float(kept.max())
    holding = float((kept >= RECALL_KEPT_MIN).mean())
    facts = memory_facts(trace.decay, trace.bonus)
    options = ("Yes, just as exactly", "Only a faded trace of it is left", "No, nothing at all is left")
    correct = 0 if float(kept.min()) >= 0.99 else (1 if slowest >= 1e-9 else 2)
    explanation = (f"A transformer keeps every token's key and value in its cache, exactly. RWKV keeps a summary. "
                   f"In this small model, the slowest memory channel fades to half in about {facts['longest']:.0f} tokens, so after "
                   f"{RECALL_DISTANCE} tokens it still holds {percent(slowest)} of what the name wrote into it. Only "
                   f"{percent(holding)} of its {kept.size:,} channels keep more than 1%. Large RWKV models have "
                   "channels that barely fade, but everything they read must still share one memory of a fixed "
                   "size. That is why exact recall from far back is harder for RWKV.")
    return options, Answer(correct=(correct,), explanation=explanation, source=SRC_RECALL, link=page_link("caveats"))


QUESTIONS: tuple[Question, ...] = (
    Question("next-word", "read-along", f"What will the model guess after “{READ_PROMPT}”?", _next_word),
    Question("kv-outgrows-state", "read-along",
             "The transformer's memory (its KV cache) grows with every token. RWKV's memory stays the same size. "
             "After how many tokens is the transformer's memory the bigger one?", _kv_outgrows_state),
    Question("shift-layer", "token-shift",
             f"The model reads “{SHIFT_PROMPT.split()[-1]}” in “{SHIFT_PROMPT}”. Which layer mixes in the most of "
             "the token before it?",
             _shift_layer),
    Question("fastest-layer", "fading-memory", "Which layer of the model forgets fastest?", _fastest_layer),
    Question("memory-after-500", "cost-race",
             f"After {RACE_MEMORY_TOKENS[1]} tokens, how much bigger is RWKV's memory than after "
             f"{RACE_MEMORY_TOKENS[0]}?", _memory_after_500),
    Question("work-at-8k", "cost-race",
             f"After {RACE_WORK_TOKENS:,} tokens, which small model does more work for the next token, and how much "
             "more?", _work_at_8k),
    Question("memory-7b-32k", "at-scale",
             f"Two models of about {SCALE_WORDS} parameters each hold one conversation of {SCALE_LONG:,} "
             "tokens. Which needs more memory for it, and how much more?", _memory_7b_32k),
    Question("short-text-work", "at-scale",
             f"Same two {SCALE_WORDS} models, but a short text of {SCALE_SHORT:,} tokens. Which does more "
             "work per token?", _short_text_work),
    Question("recall-far-back", "caveats",
             f"RWKV read a name {RECALL_DISTANCE} tokens ago. Can it still recall it as exactly as a transformer "
             "can?", _recall_far_back),
)
_BY_ID = {q.id: q for q in QUESTIONS}


def question(question_id: str) -> Question:
    """The question with this id; KeyError with a plain message for an unknown one."""
    try:
        return _BY_ID[question_id]
    except (KeyError, TypeError):
        raise KeyError(f"There is no question {question_id!r}. The questions are: {', '.join(_BY_ID)}.") from None


def questions_on(page: str) -> tuple[Question, ...]:
    """The questions that belong to a page (url path), in bank order: e.g. questions_on("at-scale")."""
    return tuple(q for q in QUESTIONS if q.page == page)
