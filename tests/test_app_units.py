"""Unit tests for app/: deep-link parsing, glossary, stepper safety, figure builders on fixed traces."""
import json
import re

import numpy as np
import pytest

from app import figures
from app.glossary import TERMS, definition, terms_in, with_tooltips
from app.state import MAX_TOKENS, clamp_step, parse_view, prepare_prompt
from app.stepper import build_spec, display_piece, prepare, safe_json_for_script, stepper_html
from app.texts import DEFAULT_PROMPT
from model.traces import RWKVTrace, half_life_tokens


def fixed_trace(T=6, L=2, C=8, K=5, seed=0) -> RWKVTrace:
    rng = np.random.default_rng(seed)
    pieces = ["Once", " upon", " <b>a</b>", "\n", " 世界", "\x07"][:T]
    top_ids = np.tile(np.arange(K), (T, 1))
    top_probs = np.sort(rng.random((T, K)), axis=1)[:, ::-1] / 3
    return RWKVTrace(
        ids=list(range(T)), pieces=pieces, top_ids=top_ids, top_probs=top_probs.astype(np.float32),
        top_pieces=[[f"w{t}_{k}" for k in range(K)] for t in range(T)],
        memory=rng.normal(size=(T, L, C)).astype(np.float32),
        x_now=rng.normal(size=(T, L, C)).astype(np.float32),
        x_prev=np.concatenate([np.zeros((1, L, C)), rng.normal(size=(T - 1, L, C))]).astype(np.float32),
        k=rng.normal(size=(T, L, C)).astype(np.float32), r=rng.random((T, L, C)).astype(np.float32),
        mix={n: rng.random((L, C)).astype(np.float32) for n in "kvr"},
        decay=rng.uniform(0.01, 0.999, (L, C)).astype(np.float32), bonus=rng.normal(size=(L, C)).astype(np.float32),
        state_floats=5 * L * C, state_bytes=20 * L * C,
    )


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
    assert clamp_step(10, 4) == (3, [clamp_step(10, 4)[1][0]])
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
    assert terms_in("[[token]] [[shown|KV cache]]") == ["token", "KV cache"]
    with pytest.raises(KeyError):
        definition("not-a-term")


def test_glossary_covers_terms_used_in_pages():
    import pathlib

    used = set()
    for path in list(pathlib.Path("pages").glob("*.py")) + [p for p in pathlib.Path("app").glob("*.py") if p.name != "glossary.py"]:
        for m in re.finditer(r"\[\[([^\]|]+)(?:\|([^\]]+))?\]\]", path.read_text()):
            used.add(m.group(2) or m.group(1))
    for term in used:
        assert definition(term), term
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
    assert page.count("<script") == 3  # plotly.js, the JSON spec, the stepper code
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


# ----------------------------------------------------------------- figures
def test_top_guesses_has_a_frame_per_token_with_that_steps_probabilities():
    tr = fixed_trace()
    fig = figures.top_guesses_figure(tr)
    assert len(fig.frames) == len(tr.ids)
    for t, frame in enumerate(fig.frames):
        assert frame.name == str(t)
        np.testing.assert_allclose(frame.data[0].x, tr.top_probs[t])


def test_labels_are_html_escaped():
    assert figures.label("<b>x</b>") == "&lt;b&gt;x&lt;/b&gt;"
    fig = figures.contribution_heatmap(np.eye(6), fixed_trace().pieces, "t")
    assert all("<b>" not in t for t in fig.layout.xaxis.ticktext)


def test_memory_heatmap_sorts_channels_by_decay():
    tr = fixed_trace()
    fig = figures.memory_heatmap_figure(tr)
    order = np.argsort(tr.decay, axis=1)
    np.testing.assert_allclose(fig.frames[3].data[0].z, np.take_along_axis(tr.memory[3], order, axis=1))


def test_memory_held_rwkv_flat_gpt_growing():
    tr = fixed_trace()
    gpt_bytes = np.arange(1, 7) * 1000
    fig = figures.memory_held_figure(tr.state_bytes, gpt_bytes, tr.pieces)
    assert len(set(np.round(fig.data[0].y, 6))) == 1  # RWKV: flat
    assert np.all(np.diff(fig.data[1].y) > 0)  # KV cache: grows with every token
    assert list(fig.frames[3].data[1].y) == [4000 / 1000]  # the marker follows the step


def test_previous_token_share_bounds_and_first_step():
    tr = fixed_trace()
    shares = figures.previous_token_share(tr)
    for s in shares.values():
        assert s.shape == (6, 2) and np.all((s >= 0) & (s <= 1))
        np.testing.assert_allclose(s[0], 0)  # nothing before the first token


def test_previous_token_share_formula():
    tr = fixed_trace()
    mu, now, prev = tr.mix["k"][1], tr.x_now[2, 1], tr.x_prev[2, 1]
    expected = np.abs((1 - mu) * prev).sum() / (np.abs(mu * now).sum() + np.abs((1 - mu) * prev).sum())
    assert figures.previous_token_share(tr)["k"][2, 1] == pytest.approx(expected, rel=1e-5)


def test_other_figures_build():
    tr = fixed_trace()
    assert len(figures.shift_share_figure(tr).frames) == 6
    assert len(figures.compare_guesses_figure(tr, fixed_trace(seed=1), "a", "b").frames) == 6
    assert len(figures.mix_profile_figure(tr, 1).data) == 3
    assert len(figures.half_life_figure(tr.decay).data) == 2
    w = np.tril(np.ones((6, 6))) / np.arange(1, 7)[:, None]
    fig = figures.echo_figure(w, tr.pieces, w, "gpt")
    assert len(fig.frames) == 6
    np.testing.assert_allclose(fig.frames[3].data[0].y, w[3, :4])
    assert len(figures.channel_mixer_figure(tr, 1, n_channels=4).frames) == 6
    assert len(figures.teaser_figure(["a", "b", "c"]).frames) == 3


def test_half_life():
    hl = half_life_tokens(np.array([0.5, 0.25, 1.0]))
    np.testing.assert_allclose(hl[:2], [1.0, 0.5])
    assert np.isinf(hl[2])


def test_vendored_plotly_bundle_matches_the_python_package():
    from app.assets import PLOTLY_BUNDLE, bundle_matches_python_plotly

    assert PLOTLY_BUNDLE.stat().st_size > 1_000_000
    assert bundle_matches_python_plotly()
