"""app/race_view.py: one race drawn as metrics, three charts and two tables that read the same rows, and a race
in progress drawn as it fills in (Streamlit's own charts then, updated in place)."""
from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.app_helpers import markdown_tables, still_figures


def _draw(live: bool):
    from app.race_view import draw_race
    from model import race
    from tests.test_race import synthetic_race

    result = synthetic_race(list(race.GRID), lambda n: 1.8, lambda n: 2.0 + n / 1000, spread=0.2)
    draw_race(result, 1024, live=live)


def run(live: bool) -> AppTest:
    at = AppTest.from_function(_draw, kwargs={"live": live}, default_timeout=60).run()
    assert not at.exception
    return at


def test_a_finished_race_is_metrics_three_still_charts_and_two_tables():
    at = run(live=False)
    assert [m.label for m in at.metric] == ["RWKV after 1,024 tokens", "Transformer after 1,024 tokens"]
    assert len(still_figures(at)) == 3 and not at.get("plotly_chart")
    tables = markdown_tables(at)
    assert len(tables) == 2 and tables[0]["token"] == tables[1]["token"] == ["1", "64", "256", "512", "1024"]
    assert not at.table  # Markdown tables: no dataframe code for the browser to load first


def test_a_race_in_progress_uses_charts_updated_in_place():
    at = run(live=True)
    assert len(at.get("plotly_chart")) == 3 and still_figures(at) == []


def test_a_finished_race_builds_its_charts_once(monkeypatch):
    """The three charts of a finished race are built once per race and length and shared (~60 ms of Plotly per
    page run otherwise); a race in progress is drawn fresh every time."""
    from app import figures_cost, race_view
    from tests.test_race import synthetic_race

    race_view.race_charts.clear()
    calls = []
    real = figures_cost.race_figures
    monkeypatch.setattr(figures_cost, "race_figures", lambda *a, **k: calls.append(1) or real(*a, **k))
    result = synthetic_race([1, 64, 256], lambda n: 1.8, lambda n: 2.0 + n / 1000, spread=0.2)
    key = race_view.result_key(result, 256)
    first = race_view.race_charts(result, key)
    assert race_view.race_charts(result, key) is first and len(calls) == 1
    assert race_view.race_charts(result, race_view.result_key(result, 64)) is not first and len(calls) == 2
