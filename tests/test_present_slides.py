"""The slides command (app/present/slides.py): it names the line of a bad talk file instead of a traceback,
and the slide file names follow the talk's views, in order and without clashes."""
from __future__ import annotations

import re

from app.present.talk import load_talk
from tests.test_present_talk import VIEW_OK


def test_the_slides_command_names_the_line_of_a_bad_talk(tmp_path, capsys):
    from app.present.slides import main

    bad = tmp_path / "bad.toml"
    bad.write_text(VIEW_OK + '\n[[view]]\ntitle = "B"\npage = "moon"\nminutes = 1\n', encoding="utf-8")
    assert main(["--talk", str(bad), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"{bad}, line 9 (view 2)" in err and "Traceback" not in err


def test_slide_names_follow_the_talk():
    from app.present.slides import slide_name

    names = [slide_name(i, v) for i, v in enumerate(load_talk().views)]
    assert names[0].startswith("01-") and names[-1].startswith(f"{len(names):02d}-")
    assert all(re.fullmatch(r"\d\d-[a-z0-9-]+\.png", n) for n in names)
    assert len(set(names)) == len(names)
