"""The room pages' pure pieces (app/room/views.py), without a page: the join link never holds the page or the
presenter key, the QR code is a PNG, the tally chart marks the right answer with text and not colour alone,
answer links are encoded on the app root, a typed code is cleaned, and the module's examples hold."""
from __future__ import annotations

import re

from app.room import views


def test_join_url_never_holds_the_page_or_the_key():
    assert views.join_url("http://10.0.0.5:8501/room", "K7M2Q") == "http://10.0.0.5:8501/join?room=K7M2Q"
    assert views.join_url("https://x.org/app/room/", "K7M2Q") == "https://x.org/app/join?room=K7M2Q"
    assert views.join_url(None, "K7M2Q", "10.0.0.5:8501") == "http://10.0.0.5:8501/join?room=K7M2Q"
    assert views.join_url(None, "K7M2Q", "evil.org/<x>") == "/join?room=K7M2Q"
    assert views.join_url("javascript:alert(1)", "K7M2Q") == "/join?room=K7M2Q"
    assert views.is_local("http://localhost:8501/join") and views.is_local("http://127.0.0.1:1/j")
    assert not views.is_local("http://192.168.1.20:8501/join")


def test_qr_code_is_a_png():
    png = views.qr_png("http://10.0.0.5:8501/join?room=K7M2Q")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 200


def test_tally_figure_marks_the_right_answer_with_text_not_colour_alone():
    fig = views.tally_figure(("a <b>", "b", "c"), [2, 0, 1], correct=(0,))
    bar = fig.data[0]
    assert list(bar.x) == [2, 0, 1]
    assert bar.y[0].startswith(views.RIGHT_MARK) and not bar.y[1].startswith(views.RIGHT_MARK)
    assert views.RIGHT_MARK in bar.text[0] and views.RIGHT_MARK not in bar.text[2]
    assert bar.marker.color[0] != bar.marker.color[1] == bar.marker.color[2]
    ticks = fig.layout.yaxis.ticktext
    assert "a <b>" not in "".join(ticks) and "a &lt;b&gt;" in ticks[0]  # option text is escaped for Plotly
    # the votes sit under each answer (in the axis's margin, which grows to fit), never beside the bar
    assert ticks[0].endswith("<br><b>2 votes (67%)  ✓ right</b>") and ticks[1].endswith("<b>0 votes (0%)</b>")
    assert bar.textposition == "none"
    before = views.tally_figure(("a", "b"), [0, 0])
    assert len(set(before.data[0].marker.color)) == 1 and before.data[0].text == ("0 votes", "0 votes")


def test_answer_links_are_encoded_on_the_app_root():
    link = views.app_link("http://h:1", "/read-along?prompt=Tom had (a) ball.&step=3", present=True)
    assert link == "http://h:1/read-along?prompt=Tom%20had%20%28a%29%20ball.&step=3&present=1"
    assert views.clean_code([" ab-cd ", " k7 m2q "]) == "K7M2Q"


def test_the_views_examples_hold():
    import doctest

    assert doctest.testmod(views).failed == 0


def test_base_from_knows_every_page_of_the_app():
    """The app's root from any of its pages' addresses (the talk's last view builds a link from the glossary's)."""
    from pathlib import Path

    paths = re.findall(r'url_path="([a-z-]+)"', (Path(__file__).parents[1] / "streamlit_app.py").read_text())
    assert len(paths) >= 10
    for path in paths:
        if path != "start":  # the default page is at the root
            assert views.base_from(f"https://talk.example.org/app/{path}") == "https://talk.example.org/app", path


def test_results_rows_hide_the_answer_until_it_is_revealed_and_csv_defuses_formulas():
    from app.room.store import Asked

    results = [(Asked("q1", 3, True, 4), [1, 3, 0]), (Asked("q2", 2, False, 2), [2, 0])]
    answers = {"q1": (("=SUM(A1)", "two", "three"), (1,)), "q2": (("yes", "no"), (0,))}
    rows = views.results_rows(results, answers, {"q1": "Which one?"})
    assert rows[0]["asked"] == "Which one?" and rows[3]["asked"] == ""
    assert [(r["question"], r["votes"], r["share"], r["right"]) for r in rows] == [
        ("q1", 1, "25%", "no"), ("q1", 3, "75%", "yes"), ("q1", 0, "0%", "no"),
        ("q2", 2, "100%", ""), ("q2", 0, "0%", ""),
    ]
    text = views.csv_text(rows)
    assert text.splitlines()[0] == "question,asked,option,votes,share,right"
    assert "'=SUM(A1)" in text and ",=SUM" not in text
    assert views.csv_text([]) == ""
