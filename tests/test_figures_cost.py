"""Figure builders on fixed inputs (no model needed)."""
import plotly.graph_objects as go
import pytest

from app import figures_cost as fc
from app.theme import GPT_COLOR, RWKV_COLOR
from model import cost


def _title(fig):
    return fig.layout.title.text


def test_race_memory_figure():
    fig = fc.race_memory_figure([1, 2, 3], [100, 100, 100], [1000, 2000, 3000])
    assert isinstance(fig, go.Figure)
    assert [t.name for t in fig.data] == ["RWKV state", "Transformer KV cache"]
    assert fig.data[0].line.color == RWKV_COLOR and fig.data[1].line.color == GPT_COLOR
    assert list(fig.data[1].y) == [1, 2, 3] and fig.layout.yaxis.title.text == "Memory held (KB)"
    assert list(fig.data[1].customdata) == ["1 KB", "2 KB", "3 KB"]
    assert fc.byte_unit(12_582_912) == ("MB", 1e6) and fc.byte_unit(10) == ("bytes", 1.0)
    assert "measured" in _title(fig)
    assert fig.layout.font.size >= 15


def test_ms_per_token_median_with_middle_half():
    from model.race import race_rows
    from tests.test_race import synthetic_race

    rows = race_rows(synthetic_race([1, 64, 256], lambda n: 1.0, lambda n: 1.0 + n / 64, repeats=5, spread=0.1))
    fig = fc.ms_per_token_figure(rows)
    assert [t.name for t in fig.data] == ["RWKV: median of 5 tries", "Transformer: median of 5 tries"]
    rwkv, gpt = fig.data
    assert list(gpt.x) == [1, 64, 256] and list(gpt.y) == [r["gpt_ms"] for r in rows]
    assert list(gpt.error_y.array) == pytest.approx([r["gpt_p75"] - r["gpt_ms"] for r in rows])
    assert list(gpt.error_y.arrayminus) == pytest.approx([r["gpt_ms"] - r["gpt_p25"] for r in rows])
    assert gpt.customdata[2] == f"{rows[2]['gpt_p25']:.2f}–{rows[2]['gpt_p75']:.2f} ms"
    assert rwkv.line.color == RWKV_COLOR and gpt.line.color == GPT_COLOR
    assert fig.layout.yaxis.range[0] == 0 and fig.layout.yaxis.range[1] >= max(r["gpt_p75"] for r in rows)
    assert "measured" in _title(fig)


def test_cumulative_and_marker():
    fig = fc.cumulative_time_figure([1, 2], [0.1, 0.2], [0.1, 0.3])
    fc.add_trained_context_marker(fig, 256)
    assert len(fig.layout.shapes) == 1 and fig.layout.shapes[0].x0 == 256
    assert _title(fig)


def test_memory_at_scale_figure():
    s = cost.MODEL_SIZES["7B"]
    curves = cost.memory_curves(s, cost.log_contexts())
    fig = fc.memory_at_scale_figure(curves, "7B", 8, 32768, {"a phone: 8 GB": 8e9})
    assert len(fig.data) == 3 and "GQA (8 KV heads)" in fig.data[2].name
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"
    assert "1M" in fig.layout.xaxis.ticktext and "1K" in fig.layout.xaxis.ticktext
    assert "computed" in _title(fig) and "7B" in _title(fig)
    assert len(fig.layout.shapes) == 2  # phone line + chosen context
    assert len(fc.memory_at_scale_figure(curves, "7B", show_gqa=False).data) == 2


def test_flops_at_scale_figure():
    s = cost.MODEL_SIZES["169M"]
    curves = cost.flops_curves(s, [1024, 4096])
    fig = fc.flops_at_scale_figure(curves, "169M", 1024)
    assert list(fig.data[0].y) == [261_250_560, 261_250_560]
    assert fig.layout.yaxis.type == "log" and "100 million" in fig.layout.yaxis.ticktext
    assert fig.data[1].y[1] > fig.data[1].y[0]


def test_gpu_fit_figure_zero_is_labelled():
    rows = {"contexts": [1024, 1_048_576], "rwkv": [500, 500], "transformer": [20, 0], "transformer_gqa": [80, 0]}
    fig = fc.gpu_fit_figure(rows, "7B")
    assert [t.name for t in fig.data] == ["RWKV", "Transformer", "Transformer with GQA"]
    assert list(fig.data[1].x) == ["1K", "1M"]
    assert fig.data[1].y[1] is None
    assert [a.text for a in fig.layout.annotations] == ["0", "0"]
    assert "80 GB" in _title(fig)


def test_labels():
    # byte and count labels are model.cost's (one set for the whole app)
    assert cost.human_bytes(819_200) == "819 KB"
    assert cost.human_bytes(12) == "12 bytes" and cost.human_bytes(1) == "1 byte"
    assert cost.human_bytes(1.5e15) == "1,500 TB"
    assert cost.human_count(1e11) == "100 billion" and cost.human_count(1e12) == "1 trillion"
    assert cost.human_count(1e15) == "1,000 trillion" and cost.human_count(1e5) == "100,000"
    assert not hasattr(fc, "bytes_label") and not hasattr(fc, "count_label")
    assert not hasattr(fc, "memory_held_figure")  # renamed race_memory_figure (app.figures has its own)
    assert fc.tokens_label(1024) == "1K" and fc.tokens_label(1 << 20) == "1M" and fc.tokens_label(300) == "300"


def test_race_figures_are_the_three_charts_of_one_set_of_rows():
    from model.race import race_rows
    from tests.test_race import synthetic_race

    rows = race_rows(synthetic_race([1, 64, 256], lambda n: 1.0, lambda n: 1.0 + n / 64, repeats=5, spread=0.1))
    ms, memory, total = fc.race_figures(rows, ctx_len=128)
    tokens = [r["tokens"] for r in rows]
    for fig in (ms, memory, total):
        assert all(list(trace.x) == tokens for trace in fig.data)
    for fig in (ms, memory):  # the transformer's trained length is marked where it applies
        assert [s.x0 for s in fig.layout.shapes] == [128]
    assert not total.layout.shapes
    assert [round(y, 6) for y in total.data[1].y] == [round(r["gpt_total_s"], 6) for r in rows]
