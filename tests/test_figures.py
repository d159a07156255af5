"""Figure builders (app/figures.py) on fixed traces.

The stepper's figures are built as plain Plotly JSON (no per-object validation, the cost of a page
run for a new text). `test_fast_figures_are_what_plotly_validates` is the proof that this fast path
gives the same figure as a `plotly.graph_objects` build: `go.Figure(fig)` validates every property of
the data, the layout and every frame (an unknown key or a bad value raises), and its JSON is the same
data again, number for number.
"""
from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import pytest

from app import figures
from app.stepper import build_spec
from model.traces import RWKVTrace

# Any (T, T) row-stochastic weights will do for the echo chart.
ECHO_WEIGHTS = np.tril(np.ones((6, 6))) / np.arange(1, 7)[:, None]


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


def stepper_figures(tr: RWKVTrace) -> dict[str, dict]:
    """Every figure the stepper animates, built from one fixed trace."""
    return {
        "top_guesses": figures.top_guesses_figure(tr),
        "memory_heatmap": figures.memory_heatmap_figure(tr),
        "memory_held": figures.memory_held_figure(tr.state_bytes, np.arange(1, 7) * 1536, tr.pieces),
        "shift_share": figures.shift_share_figure(tr),
        "channel_mixer": figures.channel_mixer_figure(tr, 1, n_channels=4),
        "compare_guesses": figures.compare_guesses_figure(tr, fixed_trace(seed=1), "a", "b"),
        "echo": figures.echo_figure(ECHO_WEIGHTS, tr.pieces, ECHO_WEIGHTS[::-1].copy(), "gpt"),
        "teaser": figures.teaser_figure(["a", "<b>b</b>", "c"]),
        "mix_profile": figures.mix_profile_figure(tr, 1),  # still: no frames
        "contributions": figures.contribution_heatmap(ECHO_WEIGHTS, tr.pieces, "who counts"),  # still
    }


def plain(value):
    """Plotly JSON with numpy arrays and tuples as lists, and without plotly.py's default template."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if k != "template"}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "tolist"):
        return plain(value.tolist())
    return value


def assert_same_json(a, b, path="fig"):
    """Deep equality; numbers equal to 1e-9 relative (float32 ↔ float64 round trips)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), f"{path}: keys {sorted(a)} vs {sorted(b) if isinstance(b, dict) else b}"
        for k in a:
            assert_same_json(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), f"{path}: {a!r:.80} vs {b!r:.80}"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same_json(x, y, f"{path}[{i}]")
    elif isinstance(a, (int, float)) and not isinstance(a, bool):
        assert b == pytest.approx(a, rel=1e-9, abs=1e-12), f"{path}: {a} vs {b}"
    else:
        assert a == b, f"{path}: {a!r} vs {b!r}"


@pytest.mark.parametrize("name", list(stepper_figures(fixed_trace())))
def test_fast_figures_are_what_plotly_validates(name):
    fig = stepper_figures(fixed_trace())[name]
    validated = go.Figure(fig)  # raises on any property Plotly does not know or a value it refuses
    assert len(validated.frames) == len(fig["frames"])
    expected = plain(fig)
    if not expected["frames"]:
        del expected["frames"]  # plotly leaves an empty frame list out of its JSON
    assert_same_json(plain(validated.to_plotly_json()), expected)


@pytest.mark.parametrize("name", [n for n, f in stepper_figures(fixed_trace()).items() if f["frames"]])
def test_first_frame_repeats_the_opening_view(name):
    """Frame 0 only carries keys the figure's opening traces already hold, with the same values."""
    fig = stepper_figures(fixed_trace())[name]
    frame = fig["frames"][0]
    assert frame["name"] == "0"
    for trace_index, changed in zip(frame["traces"], frame["data"]):
        for key, value in changed.items():
            assert fig["data"][trace_index][key] == value, f"{name} trace {trace_index}.{key}"


@pytest.mark.parametrize("name", list(stepper_figures(fixed_trace())))
def test_fast_figures_are_json_without_nan(name):
    fig = stepper_figures(fixed_trace())[name]
    text = json.dumps(fig, allow_nan=False)
    assert json.loads(text) == fig
    build_spec([fig], ["x"] * (len(fig["frames"]) or 3))  # the stepper takes it as it is


def test_empty_text_gives_figures_without_frames():
    tr = fixed_trace(T=1)
    empty = RWKVTrace(**{**tr.__dict__, "ids": [], "pieces": [], "top_ids": tr.top_ids[:0], "top_probs": tr.top_probs[:0],
                         "top_pieces": [], "memory": tr.memory[:0], "x_now": tr.x_now[:0], "x_prev": tr.x_prev[:0],
                         "k": tr.k[:0], "r": tr.r[:0]})
    for fig in (figures.top_guesses_figure(empty), figures.memory_heatmap_figure(empty),
                figures.shift_share_figure(empty), figures.channel_mixer_figure(empty, 0, n_channels=4),
                figures.memory_held_figure(empty.state_bytes, np.zeros(0), []), figures.teaser_figure([])):
        assert fig["frames"] == []
        go.Figure(fig)


def test_top_guesses_has_a_frame_per_token_with_that_steps_probabilities():
    tr = fixed_trace()
    fig = figures.top_guesses_figure(tr)
    assert len(fig["frames"]) == len(tr.ids)
    for t, frame in enumerate(fig["frames"]):
        assert frame["name"] == str(t)
        np.testing.assert_allclose(frame["data"][0]["x"], tr.top_probs[t], atol=5e-5)
        assert frame["data"][0]["text"][0] == f"w{t}_0  {100 * tr.top_probs[t, 0]:.0f}%"


def test_labels_are_html_escaped():
    assert figures.label("<b>x</b>") == "&lt;b&gt;x&lt;/b&gt;"
    fig = figures.contribution_heatmap(np.eye(6), fixed_trace().pieces, "t")
    assert all("<b>" not in t for t in fig["layout"]["yaxis"]["ticktext"])
    teaser = figures.teaser_figure(["<b>b</b>"])
    assert teaser["frames"][0]["data"][1]["text"] == ["&lt;b&gt;b&lt;/b&gt;"]


def test_memory_heatmap_sorts_channels_by_decay():
    tr = fixed_trace()
    fig = figures.memory_heatmap_figure(tr)
    order = np.argsort(tr.decay, axis=1)
    np.testing.assert_allclose(fig["frames"][3]["data"][0]["z"], np.take_along_axis(tr.memory[3], order, axis=1), atol=5e-3)


def test_memory_held_rwkv_flat_gpt_growing():
    tr = fixed_trace()
    gpt_bytes = np.arange(1, 7) * 1000
    fig = figures.memory_held_figure(tr.state_bytes, gpt_bytes, tr.pieces)
    assert len(set(fig["data"][0]["y"])) == 1  # RWKV: flat
    assert np.all(np.diff(fig["data"][1]["y"]) > 0)  # KV cache: grows with every token
    assert fig["frames"][3]["data"][1]["y"] == [4000 / 1000]  # the marker follows the step
    assert fig["frames"][3]["traces"] == [2, 3]


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
    fig = figures.shift_share_figure(tr)
    assert fig["frames"][2]["data"][0]["y"][1] == pytest.approx(expected, abs=5e-5)


def test_echo_frames_follow_the_window():
    tr = fixed_trace()
    fig = figures.echo_figure(ECHO_WEIGHTS, tr.pieces, ECHO_WEIGHTS, "gpt", window=3)
    frame = fig["frames"][4]
    assert frame["data"][0]["x"] == [3, 4, 5]
    np.testing.assert_allclose(frame["data"][0]["y"], ECHO_WEIGHTS[4, 2:5], atol=5e-5)
    assert frame["layout"]["xaxis"]["range"] == [2.5, 5.5]


def test_mixer_profile_is_a_sorted_still_chart():
    tr = fixed_trace()
    fig = figures.mix_profile_figure(tr, 1)
    assert fig["frames"] == [] and [t["name"] for t in fig["data"]] == ["key", "value", "receptance"]
    np.testing.assert_allclose(fig["data"][0]["y"], np.sort(tr.mix["k"][1]), atol=5e-5)
    spec = build_spec([figures.top_guesses_figure(tr), fig], tr.pieces)
    assert spec.figures[1]["frames"] == []


def test_static_figures_build():
    tr = fixed_trace()
    assert len(figures.half_life_figure(tr.decay).data) == 2


def test_contribution_heatmap_rows_are_the_token_being_read_and_later_tokens_are_gaps():
    weights = np.tril(np.ones((6, 6))) / np.arange(1, 7)[:, None]
    fig = figures.contribution_heatmap(weights, fixed_trace().pieces, "who counts")
    z = fig["data"][0]["z"]
    assert z[0] == [1.0, None, None, None, None, None]
    assert z[5] == [pytest.approx(1 / 6, abs=5e-5)] * 6
    assert fig["data"][0]["x"] == fig["data"][0]["y"] == [1, 2, 3, 4, 5, 6] and fig["data"][0]["zmax"] == 1.0
    json.dumps(fig, allow_nan=False)  # gaps travel as null, never NaN
    last = figures.contribution_heatmap(np.tril(np.ones((10, 10))), [f"t{i}" for i in range(10)], "t", max_tokens=4)
    assert last["data"][0]["x"] == [7, 8, 9, 10] and len(last["data"][0]["z"]) == 4
    assert last["layout"]["yaxis"]["ticktext"][0] == "7:t6" and last["layout"]["xaxis"]["ticktext"][0] == "7"
