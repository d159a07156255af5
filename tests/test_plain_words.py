"""Plain words where non-builders read (issue #7, item 7): the Flesch-Kincaid grade of every page's main text.

Each page is rendered with AppTest; its main text is what a visitor reads without opening anything:
titles, headers, Markdown, captions, info and warning boxes, plain text, and the stepper's line under the
chips at the opening step. Left out: the "🔧 For builders" expanders (formulas live there), chart tick
labels and chart titles (figures), widget labels. Markdown syntax and the glossary's hover HTML are stripped.

The grade is Flesch-Kincaid (0.39 × words per sentence + 11.8 × syllables per word − 15.59) as `readability`
0.3.2 computes it (PyPI, pure Python, nothing downloaded), with syllables counted by `pyphen` 0.18.1, the
counter `textstat` uses offline. readability's own English counter is printed too, but is not asserted: it
gives "the", numbers and acronyms 0 syllables, which flatters a text by about a grade. (`textstat` 0.7.13, the
tool issue #7 names, cannot be installed here: its wheels put a top-level `tests` package into site-packages,
which shadows this repository's `tests/`; and its default counter downloads NLTK's cmudict.)

Run with `python -m pytest tests/test_plain_words.py -s` (or `-rA`) to see every page's grade.
"""
from __future__ import annotations

import html
import importlib.metadata
import re
import unicodedata

import pytest

from tests.app_helpers import run_page, stepper_specs

readability = pytest.importorskip("readability")
pyphen = pytest.importorskip("pyphen")
if not hasattr(readability, "getmeasures"):  # another package of that name (readability-lxml)
    pytest.skip("`readability` here is not readability 0.3.2", allow_module_level=True)

VERSIONS = f"readability {importlib.metadata.version('readability')}, pyphen {importlib.metadata.version('pyphen')}"
GRADE_MAX = 8.0
BUILDERS = "🔧 For builders"
TEXT_TYPES = {"title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "text"}

# (page, query parameters, asserted). The cost pages are only measured and printed: their text is someone
# else's (app/texts_cost.py), being rewritten.
CASES = [
    ("pages/start.py", {}, True),
    ("pages/read_along.py", {}, True),
    ("pages/read_along.py", {"write": "5"}, True),  # with "Let it write" open: its paragraph and dashed-chip note
    ("pages/token_shift.py", {}, True),
    ("pages/fading_memory.py", {}, True),
    ("pages/caveats.py", {}, True),
    ("pages/glossary.py", {}, True),
    ("pages/cost_race.py", {"tokens": "64"}, False),  # the shortest race: same text, other numbers
    ("pages/at_scale.py", {}, False),
    ("pages/room.py", {}, True),  # no room yet: how a room poll works (/join is too short to score: 21 words;
    # tests/test_room_questions.py grades every question and its revealed answer)
    ("pages/console.py", {}, True),  # the talk's first view and its notes
]

def sentences(text: str) -> list[str]:
    """One sentence per item, its words and punctuation marks separated by spaces (readability's input)."""
    out = []
    for sentence in re.split(r"(?<=[.!?])\s+", text):
        tokens = re.findall(r"\w+(?:['’-]\w+)*|[^\w\s]", sentence)
        if any(re.match(r"\w", t) for t in tokens):
            out.append(" ".join(tokens))
    return out


_HYPHENATOR = pyphen.Pyphen(lang="en_US")
PYPHEN_EN = "en-pyphen"  # readability's English settings with pyphen's syllable counter


def _pyphen_syllables(token: str) -> int:
    return len(_HYPHENATOR.positions(token.lower())) + 1


readability.langdata.LANGDATA.setdefault(PYPHEN_EN, {**readability.langdata.LANGDATA["en"],
                                                     "syllables": _pyphen_syllables})


def _measures(text: str, lang: str) -> dict:
    return readability.getmeasures(sentences(text), lang=lang)


def grade(text: str, lang: str = PYPHEN_EN) -> float:
    """Flesch-Kincaid grade (pyphen's syllables unless `lang="en"`, readability's own counter)."""
    return _measures(text, lang)["readability grades"]["Kincaid"]


def word_count(text: str) -> int:
    return int(_measures(text, "en")["sentence info"]["words"])


# ------------------------------------------------------------------ collecting the rendered main text
def _walk(node, out: list[str]) -> None:
    if getattr(node, "type", "") == "expander" and str(node.label).startswith(BUILDERS):
        return
    children = getattr(node, "children", None)
    if children is not None:
        for child in children.values():
            _walk(child, out)
        return
    if node.type in TEXT_TYPES:
        out.append(str(node.value))


def main_texts(at) -> list[str]:
    """The main text elements of a rendered page, in page order (raw Markdown/HTML as sent)."""
    out: list[str] = []
    _walk(at.main, out)
    for spec in stepper_specs(at):
        note = spec["notes"][spec["start"]] if spec.get("notes") else ""
        if note:
            out.append(note)
    return out


_STYLE = re.compile(r"<style>.*?</style>", re.S)
_TAG = re.compile(r"<[^>]+>")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_MATH = re.compile(r"\$[^$]+\$")
_LIST = re.compile(r"^\s*(?:[-*]|\d+\.)\s+", re.M)


def plain(markdown: str) -> str:
    """What a reader sees: no HTML, Markdown syntax or emoji; every line ends a sentence."""
    s = _STYLE.sub("", markdown)
    s = html.unescape(_TAG.sub("", s))
    s = _LINK.sub(r"\1", s)
    s = _MATH.sub("", s)
    s = _LIST.sub("", s)
    s = re.sub(r"[*`#]|(?<!\w)_|_(?!\w)", "", s)
    s = "".join(ch for ch in s if unicodedata.category(ch) not in ("So", "Sk", "Cs", "Co"))
    # a period that does not end a sentence would split one in two (a sentence ends at every '. ')
    s = re.sub(r"(\d)\.(\d)", r"\1\2", s)
    s = re.sub(r"\b(e\.g|i\.e|et al|vs|eq|eqs)\.", lambda m: m.group(1).replace(".", ""), s)
    lines = [line.strip() for line in s.splitlines() if line.strip()]
    return " ".join(line if line[-1] in ".!?:;" else line + "." for line in lines)


def page_text(at) -> str:
    return " ".join(t for t in (plain(x) for x in main_texts(at)) if t)


def hardest_sentences(text: str, n: int = 3) -> list[str]:
    """The sentences that pull the grade up most (long and full of long words)."""
    return sorted(sentences(text), key=lambda s: -(grade(s) + 15.59) * len(s.split()))[:n]


# ------------------------------------------------------------------ the tests
def test_grader_works_offline_and_is_plausible():
    assert grade("The cat sat on the mat. It was happy.") < 2
    hard = ("Recurrent architectures with fixed-dimensional state representations demonstrate comparatively "
            "diminished performance on associative recall benchmarks.")
    assert grade(hard) > 16
    assert sentences("It reads (one token). Then: it guesses!") == ["It reads ( one token ) .", "Then : it guesses !"]


def test_plain_strips_markup_and_keeps_words():
    raw = ('**What you see:** the <abbr class="gloss" title="A piece &amp; more">token</abbr> chips\n'
           "- one item\n1. two *items*")
    assert plain(raw) == "What you see: the token chips. one item. two items."
    assert plain("from 44.2 to 74.8 (Peng et al. 2023, eq. 2.2)") == "from 442 to 748 (Peng et al 2023, eq 22)."


@pytest.mark.parametrize(("page", "query", "asserted"), CASES,
                         ids=[p.split("/")[1][:-3] + "".join(f"+{k}" for k in q) for p, q, _ in CASES])
def test_main_text_grade(page, query, asserted):
    at = run_page(page, dict(query))
    assert not at.exception, [e.value for e in at.exception]
    raw = main_texts(at)
    assert not any("$$" in t or "\\tag" in t for t in raw), "a builders' formula leaked into the main text"
    text = " ".join(t for t in map(plain, raw) if t)
    score, words = grade(text), word_count(text)
    print(f"\nFK grade {page}{'?' + '&'.join(f'{k}={v}' for k, v in query.items()) if query else ''}: {score:.1f} "
          f"({words} words; {VERSIONS}; readability's own syllables: {grade(text, 'en'):.1f})"
          f"{'' if asserted else ' (not asserted)'}")
    assert words > 40, text  # the page really drew its text
    if asserted:
        assert score <= GRADE_MAX, (score, hardest_sentences(text))
