"""Unit tests for app/: deep-link parsing, glossary, stepper safety, figure builders on fixed traces."""
import json
import pathlib
import re

import numpy as np
import pytest

from app import figures
from app.glossary import TERMS, definition, terms_in, with_tooltips
from app.state import MAX_TOKENS, clamp_step, parse_view, prepare_prompt
from app.stepper import build_spec, display_piece, prepare, safe_json_for_script, stepper_html
from app.texts import DEFAULT_PROMPT
from tests.test_figures import fixed_trace
from model.traces import half_life_tokens


# ----------------------------------------------------------------- deep links
def test_parse_view_defaults_and_values():
    assert parse_view({}).prompt == DEFAULT_PROMPT
    v = parse_view({"prompt": "Hi", "step": "3"})
    assert (v.prompt, v.step, v.notes, v.from_link) == ("Hi", 3, [], True)


@pytest.mark.parametrize("raw", ["banana", "1.5", "", "-2", "0", "9" * 50 + "x"])
def test_parse_view_bad_step_falls_back_with_note(raw):
    v = parse_view({"step": raw})
    assert v.step is None
    assert (raw == "") or v.notes, "an invalid step must say so"


def test_step_past_end_is_clamped_with_note():
    assert clamp_step(10, 4) == (3, ["The link asked for token 10, but the text has 4 tokens: showing the last one."])
    assert clamp_step(4, 4) == (3, [])  # the last token itself is not past the end
    assert clamp_step(2, 4) == (1, [])
    assert clamp_step(None, 4) == (0, [])


def test_huge_prompt_in_link_is_cut_with_note():
    v = parse_view({"prompt": "a" * 10_000})
    assert len(v.prompt) == 4000 and v.notes


def test_prepare_prompt_empty_and_truncated():
    assert prepare_prompt("   \n", lambda s: [1]).empty
    p = prepare_prompt("x", lambda s: list(range(MAX_TOKENS + 10)))
    assert len(p.ids) == MAX_TOKENS and p.truncated_from == MAX_TOKENS + 10


# ----------------------------------------------------------------- glossary
def test_every_marked_term_is_defined_and_escaped():
    html = with_tooltips("A [[token]] and [[states|state]] <script>alert(1)</script>")
    assert html.count("<abbr") == 2 and "<script>" not in html and "&lt;script&gt;" in html
    assert 'aria-label="states"' in html  # the word alone is its name; the definition is its description
    assert terms_in("[[token]] [[shown|KV cache]]") == ["token", "KV cache"]
    with pytest.raises(KeyError):
        definition("not-a-term")


def test_glossary_covers_terms_used_in_pages():
    """Every [[term]] in pages/*.py and app/*.py has a definition. Paths are anchored to the repository,
    not the working directory, and the scan must find the files (run from elsewhere it used to scan none)."""
    root = pathlib.Path(__file__).resolve().parent.parent
    pages = sorted((root / "pages").glob("*.py"))
    app_files = [p for p in sorted((root / "app").glob("*.py")) if p.name != "glossary.py"]
    assert len(pages) >= 8 and len(app_files) >= 5, (pages, app_files)
    used = set()
    for path in pages + app_files:
        for m in re.finditer(r"\[\[([^\]|]+)(?:\|([^\]]+))?\]\]", path.read_text(encoding="utf-8")):
            used.add(m.group(2) or m.group(1))
    assert len(used) >= 30, sorted(used)  # the pages really use the glossary: the scan saw them
    missing = []
    for term in sorted(used):
        try:
            definition(term)
        except KeyError:
            missing.append(term)
    assert not missing, f"terms used in pages but not in the glossary: {missing}"
    assert len(TERMS) >= 30


# ----------------------------------------------------------------- stepper
def test_safe_json_cannot_close_the_script():
    raw = json.dumps({"x": "</script><script>alert(1)</script><!--"})
    safe = safe_json_for_script(raw)
    assert "<" not in safe and ">" not in safe
    assert json.loads(safe) == {"x": "</script><script>alert(1)</script><!--"}


def test_stepper_html_embeds_user_text_only_as_escaped_json():
    tr = fixed_trace()
    tr.pieces[2] = "</script><img src=x onerror=alert(1)>"
    prepared = prepare([figures.top_guesses_figure(tr)], tr.pieces)
    page = stepper_html(prepared, start=2)
    assert "<img src=x" not in page and "</script><img" not in page
    assert page.count("<script") == 2  # the JSON spec, the stepper code (which loads plotly.js once the page painted)
    assert 's.src = "app/static/plotly-cartesian.min.js"' in page
    assert "let step = 2," in page and prepared.n_steps == len(tr.pieces)
    assert "let step = 5," in stepper_html(prepared, start=99)  # clamped to the last token


def test_stepper_requires_one_frame_per_step():
    tr = fixed_trace()
    with pytest.raises(ValueError):
        build_spec([figures.top_guesses_figure(tr)], tr.pieces[:-1])


def test_display_piece_makes_invisible_characters_visible():
    assert display_piece("\n") == "↵"
    assert display_piece(" a") == "\u00a0a"
    assert display_piece("\x07") == "␇"
    assert display_piece("") == "∅"


# ----------------------------------------------------------------- figures: tests/test_figures.py
def test_half_life():
    hl = half_life_tokens(np.array([0.5, 0.25, 1.0]))
    np.testing.assert_allclose(hl[:2], [1.0, 0.5])
    assert np.isinf(hl[2])


def test_vendored_plotly_bundle_matches_the_python_package():
    from app.assets import PLOTLY_BUNDLE, bundle_matches_python_plotly

    assert PLOTLY_BUNDLE.stat().st_size > 1_000_000
    assert bundle_matches_python_plotly()


def test_page_list_builds_once_and_hands_out_fresh_copies(monkeypatch):
    """streamlit_app.py's pages are built once per process; every run gets its own copies, because
    `st.navigation` marks the page it returns as runnable and two sessions must not share that mark."""
    from app import ui

    monkeypatch.setattr(ui, "_PAGE_TEMPLATES", [])
    built = []

    class FakePage:
        def __init__(self, path):
            self.path, self._can_be_called = path, False

    def build():
        built.append(1)
        return [FakePage("pages/start.py"), FakePage("pages/read_along.py")]

    first, second = ui.page_list(build), ui.page_list(build)
    assert len(built) == 1
    assert [p.path for p in first] == [p.path for p in second] == ["pages/start.py", "pages/read_along.py"]
    first[1]._can_be_called = True  # what st.navigation does to the page it returns
    assert second[1]._can_be_called is False and first[1] is not second[1]


def test_markdown_table_escapes_every_cell_and_aligns_numbers():
    from app.ui import markdown_table

    md = markdown_table([{"size": "<b>7B</b> | x", "layers": 32, "holds": "15 KB"},
                         {"size": "[link](http://e.vil)", "layers": 40, "holds": "2 MB"}])
    lines = md.splitlines()
    assert lines[0] == "| size | layers | holds |" and lines[1] == "| --- | ---: | ---: |"
    assert "<b>" not in md and "\\<b\\>7B\\<\\/b\\> \\| x" in lines[2] and "\\[link\\]\\(http" in lines[3]
    assert markdown_table([]) == ""


def test_stepper_html_is_built_once_per_view():
    prepared = prepare([{"data": [], "layout": {}, "frames": [{"name": "0", "data": []}]}], ["a"])
    assert stepper_html(prepared, 0) is stepper_html(prepared, 0)
    assert stepper_html(prepared, 0, present=True) != stepper_html(prepared, 0)


def test_cached_views_key_tuples_by_their_repr():
    """Token-id tuples are hashed as one string (`loaders.TUPLE_KEY`), not one element at a time: the same text
    hits the shared cache, another text (or the same ids in another order) does not."""
    from app import loaders

    calls = []

    @st_cache(hash_funcs=loaders.TUPLE_KEY)
    def view(ids, kinds):
        calls.append(ids)
        return len(calls)

    assert view((1, 2, 3), ("prompt",) * 3) == view((1, 2, 3), ("prompt",) * 3) == 1
    assert view((3, 2, 1), ("prompt",) * 3) == 2 and view((1, 2, 3), ("prompt", "prompt", "generated")) == 3
    assert loaders.TUPLE_KEY[tuple]((12, 3)) != loaders.TUPLE_KEY[tuple]((1, 23))


def st_cache(**kw):
    import streamlit as st

    return st.cache_resource(max_entries=8, show_spinner=False, **kw)


def test_builders_formulas_carry_their_number_inline_not_pinned_right():
    """KaTeX pins a \\tag to the right edge: on a phone it sat on top of a wide formula."""
    from app.ui import BuildersNotes

    notes = BuildersNotes()
    notes.latex(r"o_t = W_o\,(\sigma(r_t) \odot wkv_t) \tag{%s}" % "16")
    notes.latex(r"r'_t = W'_r x \tag{14, 15}")
    notes.latex(r"x = y")
    assert notes.parts == ["$$\no_t = W_o\\,(\\sigma(r_t) \\odot wkv_t) \\qquad\\text{(16)}\n$$",
                           "$$\nr'_t = W'_r x \\qquad\\text{(14, 15)}\n$$", "$$\nx = y\n$$"]


def test_glossary_search_matches_the_start_of_words_only():
    import doctest

    from app import glossary

    assert doctest.testmod(glossary).failed == 0
    assert "KV cache" in glossary.search("kv") and "RWKV" not in glossary.search("kv")  # not inside "RWKV"
    assert glossary.search("  SEED ") == ["seed"]
    assert glossary.search("zzzz") == []
    assert glossary.search(".*") == []  # typed symbols are text, not a pattern


def test_the_ui_examples_hold_and_charts_are_named_by_their_titles():
    """A page's frames list tells its charts apart: each still chart's frame is named by its figure's title."""
    import doctest

    from app import ui

    assert doctest.testmod(ui).failed == 0
    assert ui.chart_name({"data": [], "layout": {"title": {"text": "<b>Time</b> per token"}}}) == "Chart: Time per token"
    assert ui.chart_name("not a figure") == "Chart"
