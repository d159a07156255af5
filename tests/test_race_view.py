"""app/race_view.py: one race drawn as metrics, three charts and two tables that read the same rows, and a race
in progress drawn as it fills in (Streamlit's own charts then, updated in place)."""
from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.app_helpers import still_figures


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
    assert len(at.table) == 2 and list(at.table[0].value["token"]) == list(at.table[1].value["token"])


def test_a_race_in_progress_uses_charts_updated_in_place():
    at = run(live=True)
    assert len(at.get("plotly_chart")) == 3 and still_figures(at) == []
