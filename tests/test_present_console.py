"""The presenter console's pure pieces (app/present/console.py), without a page: the component never puts
talk text into its HTML unescaped, and the console's link params are read strictly."""
from __future__ import annotations

import json
import re

from app.present import console
from app.present.talk import Talk, View

_TALK_RE = re.compile(r'<script type="application/json" id="talk">(.*?)</script>', re.S)


def test_the_component_never_puts_talk_text_into_html_unescaped():
    evil = '</script><img src=x onerror=alert(1)>'
    talk = Talk("T", (View(evil, "glossary", (), evil, 1.0), View("B & C", "caveats", (), "two", 1.0)))
    page = console.console_html(talk)
    assert evil not in page
    assert "<img" not in page
    data = json.loads(_TALK_RE.search(page).group(1))
    assert data["views"][0]["title"] == evil and data["views"][0]["notes"] == evil


def test_console_params_are_read_strictly():
    parse = console.parse_console_params
    assert parse({}, 12) == console.ConsoleParams()
    assert parse({"view": ["2", "5"]}, 12).start == 4  # the last of a repeated key, as st.query_params does
    assert parse({"view": "0"}, 12).start == 0
    assert parse({"token": "abc"}, 12).token is None  # a key without its room means nothing
    assert parse({"room": "K7QX", "token": "a" * 200}, 12).token is None
