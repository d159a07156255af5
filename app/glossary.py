"""Every term a non-builder meets, in one or two plain sentences; the same text is the definition shown on hover, tap or Tab.

Write page texts in Markdown with `[[term]]` (or `[[shown words|term]]`) where a glossary term
appears; `with_tooltips` turns them into definitions.

Example:
    >>> "state" in TERMS
    True
    >>> html = with_tooltips("RWKV keeps a [[state]].")
    >>> 'aria-description="' in html
    True
"""
from __future__ import annotations

import functools
import html
import re

TERMS: dict[str, str] = {
    "token": "A small piece of text, often a word or part of a word, that the model reads and writes one at a time.",
    "prompt": "The text you give the model to start from.",
    "model": "A program with millions of adjustable numbers, tuned on example text so that it guesses the next token well.",
    "language model": "A model that, given some text, gives a probability to every possible next token.",
    "parameter": "One of the adjustable numbers inside a model, set during training. More parameters usually means a more capable but costlier model.",
    "training": "Showing a model lots of example text and nudging its parameters, bit by bit, so that its guesses get better.",
    "layer": "One stage of the model's processing. The text passes through the layers one after another, each refining what the one before produced.",
    "channel": "One of the numbers in a token's vector. Each layer works on the same number of channels (192 in our small model).",
    "vector": "A list of numbers. The model turns every token into a vector and works on those.",
    "embedding": "The vector the model looks up for each token before any processing. It is the model's starting description of that token.",
    "state": "RWKV's memory: a fixed set of numbers per layer, updated after every token. It never grows, however long the text.",
    "RNN": "Recurrent neural network: a model that reads one token at a time. It carries a memory (a state) from one token to the next.",
    "transformer": "The design behind GPT and most chatbots. For every new token it looks back at all the tokens so far (attention).",
    "attention": "How a transformer decides which earlier tokens matter for the current one. It scores every earlier token and takes a weighted mix of them.",
    "KV cache": "The keys and values a transformer stores for every token it has read, so it need not recompute them. It grows by one entry per token, per layer.",
    "key": "In attention, a vector per token that later tokens compare against to decide how relevant it is. In RWKV, a number per channel saying how strongly a token is written into the memory.",
    "value": "In attention (and in RWKV), the vector of information a token offers to later tokens.",
    "receptance": "RWKV's gate: a number between 0 and 1 per channel. It says how much of the memory's answer to let through for this token.",
    "FLOP": "Short for floating-point operation: one multiplication or addition of two numbers. Counting FLOPs is a way to count computing work.",
    "token shift": "RWKV blends each token's vector with the previous token's before using it. So every token carries a little of the word before it.",
    "time mixing": "The part of an RWKV layer that reads from and writes to the memory (state): RWKV's stand-in for attention.",
    "channel mixing": "The part of an RWKV layer that works on each token on its own, after blending it with the previous token. It is like a transformer's feed-forward block.",
    "decay": "How fast a memory channel forgets: after each token it keeps a fixed fraction of what it held. Each channel has its own learned rate.",
    "half-life": "How many tokens it takes a memory channel to fade to half its strength.",
    "bonus": "RWKV's separate learned weight (u) for the token being read. It lets that token count more or less than the memory's own weighting would give it. In the small model here, it counts less.",
    "WKV": "RWKV's weighted average of past values, each weighted by how recent it is (decay) and how important (key). It replaces attention.",
    "probability": "How likely the model thinks a next token is, from 0% to 100%; all candidates add up to 100%.",
    "temperature": "A dial for sampling. Low values make the model pick its top guess almost always; high values make it more adventurous.",
    "greedy": "Always writing the single most likely next token.",
    "seed": "A number that fixes the dice the model rolls when it samples. The same seed gives the same text again.",
    "sampling": "Writing a next token drawn at random according to the model's probabilities.",
    "logit": "The raw score the model gives each possible next token before it is turned into a probability.",
    "context": "The text the model has read so far and can use to guess the next token.",
    "context length": "How many tokens of text the model is working with.",
    "recurrent mode": "Running RWKV like an RNN: one token at a time, carrying the state forward. Cost per token stays the same.",
    "parallel mode": "Running RWKV on a whole text at once, like a transformer does during training. It gives the same results as recurrent mode (up to tiny rounding differences).",
    "LayerNorm": "A step that rescales a vector so its numbers have a standard spread, which keeps training stable.",
    "sigmoid": "A function that squashes any number into the range 0 to 1, used for gates.",
    "softmax": "A function that turns scores into probabilities that add up to 100%.",
    "loss": "How wrong the model's guesses are on text it has not trained on, in nats per token: lower is better.",
    "accuracy": "How often the model's top guess is exactly the next token.",
    "GQA": "Grouped-query attention: several attention heads share one set of keys and values, which shrinks the KV cache.",
    "head": "One of several attention units in a transformer layer, each with its own view of which tokens matter.",
    "byte": "8 bits of computer memory. A number stored in 32-bit floating point takes 4 bytes; in 16-bit, 2 bytes.",
    "GPU": "A graphics chip used to run AI models. Its memory (e.g. 80 GB) limits how many conversations it can hold at once.",
    "quadratic": "Growing with the square of the length: twice the text costs four times as much.",
    "linear": "Growing in proportion to the length: twice the text costs twice as much.",
    "constant": "Not growing at all with the length of the text.",
    "implicit attention": "RWKV has no attention. But its memory update can be unrolled to show exactly how much each earlier token still counts now.",
    "ablation": "Switching a part of the model off (or changing it) to see what difference it makes.",
    "checkpoint": "A file holding a trained model's parameters.",
    "RWKV": "Receptance Weighted Key Value: a model design. It trains in parallel like a transformer, but runs like an RNN with a fixed-size memory.",
    # cost pages (cost race, at scale, caveats)
    "rotary positions": "A way to tell a transformer where each token sits: its vectors are turned by an angle that depends on the position. It works for any position, so the model can run past the length it was trained on (with worse guesses).",
    "trained context": "The longest text a model saw in training. A model can sometimes read further, but it never practised doing so.",
    "wall-clock time": "Time as a stopwatch measures it. It includes everything else the computer is doing at that moment.",
    "millisecond": "A thousandth of a second (ms).",
    "median": "The middle value: half the measurements are below it, half above. Unlike the average, a few slow outliers barely move it.",
    "GB": "Gigabyte: a billion bytes. A phone has about 8 GB of memory, a large AI GPU 80 GB.",
    "weights": "The model's parameters as stored in memory. They are loaded once and shared by every conversation.",
    "fp16": "16-bit floating point: numbers stored in 2 bytes each, the usual format for running large models.",
    "fp32": "32-bit floating point: numbers stored in 4 bytes each. More precise, twice the memory of fp16.",
    "inference": "Using a trained model to read and write text, as opposed to training it.",
    "conversation": "Here: one user's text so far (prompt plus answer), which the model must remember while it writes.",
    "CPU": "The computer's main processor. This app's small models run on it; big models usually run on GPUs.",
    "thread": "One line of work a processor runs; several threads can share the work of one calculation.",
    "recall": "Finding and repeating an exact detail from earlier in the text, such as a name or a number.",
    "benchmark": "A standard set of test questions used to compare models.",
    "matrix-valued state": "A memory that keeps a small table of numbers per head instead of a list, as RWKV-5 and later do. It can hold more detail.",
    "data-dependent decay": "Forgetting speeds that change with each token read (RWKV-6), instead of being fixed after training (RWKV-4).",
    "delta rule": "A memory update that first checks what the memory already says for a key and writes only the correction (RWKV-7).",
    "TinyStories": "A set of short, simple children's stories written by a language model. It was made for training small models (Eldan and Li, 2023).",
    # terms met on the reading and caveats pages
    "heatmap": "A chart drawn as a grid of coloured squares. The colour of each square shows a number.",
    "log scale": "A chart axis where each step multiplies instead of adds: 1, 10, 100, 1,000. It fits very short and very long values on one chart.",
    "mixer": "RWKV's learned setting, one per channel, for blending a token with the one before it (token shift). At 100% the channel uses only the current token; at 0%, only the previous one.",
    "vLLM": "A widely used open program for running language models. Its paper (Kwon et al. 2023) showed how to waste less memory around the KV cache.",
    "Pythia": "A family of open transformer models from EleutherAI (2023), from 70 million to 12 billion parameters.",
    "OPT": "Open Pre-trained Transformers: a family of transformer models from Meta AI (2022), from 125 million to 175 billion parameters.",
    "BLOOM": "An open transformer model from the BigScience project (2022), trained on many languages. The largest has 176 billion parameters.",
}

_TERM_RE = re.compile(r"\[\[([^\]|]+)(?:\|([^\]]+))?\]\]")
_LOOKUP = {k.lower(): k for k in TERMS}


def search(query: str) -> list[str]:
    """Terms, A to Z, whose name or definition has a word that starts with `query` (case ignored): "kv" finds
    "KV cache" and the terms that mention it, not every "RWKV".

    >>> search("kv")
    ['GQA', 'KV cache', 'vLLM']
    >>> "state" in search("Mem") and search("") == sorted(TERMS, key=str.casefold)
    True
    """
    needle = query.strip().lower()
    terms = sorted(TERMS, key=str.casefold)
    if not needle:
        return terms
    starts = re.compile(r"(?<![\w])" + re.escape(needle))
    return [t for t in terms if starts.search(t.lower()) or starts.search(TERMS[t].lower())]


def definition(term: str) -> str:
    """The plain-language definition of a term (case-insensitive, simple plural 's' allowed)."""
    key = term.strip().lower()
    if key not in _LOOKUP and key.endswith("s"):
        key = key[:-1]
    if key not in _LOOKUP:
        raise KeyError(f"glossary has no term {term!r}")
    return TERMS[_LOOKUP[key]]


@functools.lru_cache(maxsize=2048)  # pure; pages ask for the same few texts on every run
def with_tooltips(markdown: str) -> str:
    """Escape `<`, `>`, `&` in the text, then turn [[term]] / [[shown|term]] into a definition that hover,
    tap, click and keyboard all reach (no JavaScript):

        <abbr class="gloss" tabindex="0" role="term" aria-label="shown" aria-description="…">shown</abbr>

    `tabindex="0"` makes the word a tab stop and lets a tap or click focus it; the CSS in `app/ui.py` shows
    `aria-description` in a box on `:hover` and `:focus` (a panel along the bottom of the screen on phones),
    and screen readers read the same attribute as the word's description. No `title`: it would pop up a
    second, browser-drawn copy on hover. The definition comes from `TERMS` and is attribute-escaped."""
    escaped = html.escape(markdown, quote=False)

    def repl(match: re.Match) -> str:
        shown, term = match.group(1), match.group(2) or match.group(1)
        described = html.escape(definition(term), quote=True)
        # aria-label: the name is the word alone (the box's CSS text would otherwise join it, read twice)
        label = html.escape(html.unescape(shown), quote=True)
        return (f'<abbr class="gloss" tabindex="0" role="term" aria-label="{label}" aria-description="{described}">'
                f'{shown}</abbr>')

    return _TERM_RE.sub(repl, escaped)


def terms_in(markdown: str) -> list[str]:
    return [m.group(2) or m.group(1) for m in _TERM_RE.finditer(markdown)]


# Escape hides a definition box (the CSS in app/ui.py) until the pointer or focus leaves the word (WCAG 1.4.13).
# The handler, for a document: app/stepper.py's frames add it to the page around them, and pages without a
# frame send it once per browser page (app/ui.py: GLOSS_ESCAPE_HTML).
GLOSS_ESCAPE_JS = """function (doc) {
  return function (e) {
    if (e.key !== "Escape") return;
    doc.querySelectorAll("abbr.gloss:hover, abbr.gloss:focus").forEach(function (a) {
      a.classList.add("dismissed");
      const undo = function () { a.classList.remove("dismissed"); a.removeEventListener("mouseleave", undo);
                                 a.removeEventListener("blur", undo); };
      a.addEventListener("mouseleave", undo); a.addEventListener("blur", undo);
    });
  };
}"""
