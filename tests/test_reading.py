"""app/reading.py: the prompt box shared by the reading pages, across page changes (AppTest)."""
from __future__ import annotations

from streamlit.testing.v1 import AppTest

from app.texts import DEFAULT_PROMPT
from tests.app_helpers import ROOT, no_exceptions, stepper_specs

READING_PAGES = ["pages/read_along.py", "pages/token_shift.py", "pages/fading_memory.py"]


def session(page: str, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.switch_page(page)
    return at.run()


def go_to(at: AppTest, page: str) -> AppTest:
    """What the sidebar link does: another page, the same session, no query string."""
    for key in list(at.query_params):
        del at.query_params[key]
    at.switch_page(page)
    return at.run()


def test_default_text_follows_the_reader_to_every_reading_page():
    at = session(READING_PAGES[0])
    for page in READING_PAGES[1:] + READING_PAGES[:1]:
        go_to(at, page)
        assert no_exceptions(at), page
        assert at.text_area(key="prompt_box").value == DEFAULT_PROMPT, page
        assert "prompt" not in at.query_params, page  # the default text keeps links short
        assert stepper_specs(at), f"{page} drew no step-through"


def test_typed_text_follows_the_reader_and_stays_in_the_link():
    at = session(READING_PAGES[0])
    at.text_area(key="prompt_box").input("Tom had a red ball.").run()
    for page in READING_PAGES[1:]:
        go_to(at, page)
        assert at.text_area(key="prompt_box").value == "Tom had a red ball.", page
        assert at.query_params["prompt"] == "Tom had a red ball.", page
        labels = "".join(stepper_specs(at)[0]["labels"]).replace("\u00a0", " ")
        assert labels == "Tom had a red ball.", page


def test_a_links_text_wins_over_the_text_carried_from_another_page():
    at = session(READING_PAGES[0])
    at.text_area(key="prompt_box").input("Tom had a red ball.").run()
    for key in list(at.query_params):
        del at.query_params[key]
    at.query_params["prompt"] = "Sue saw a cat."
    at.query_params["step"] = "2"
    at.switch_page(READING_PAGES[1]).run()
    assert at.text_area(key="prompt_box").value == "Sue saw a cat."
    assert stepper_specs(at)[0]["start"] == 1  # the link's step survives the arrival


def test_editing_the_text_on_a_page_restarts_at_the_first_token():
    at = session(READING_PAGES[2], {"prompt": "Sue saw a cat.", "step": "3"})  # token shift opens on token 2 (test_pages_reading)
    assert stepper_specs(at)[0]["start"] == 2
    at.text_area(key="prompt_box").input("Sue saw a big dog.").run()
    spec = stepper_specs(at)[0]
    assert spec["start"] == len(spec["labels"]) - 1  # the link's step goes; fading memory opens on the last token
    assert "step" not in at.query_params


def test_a_step_the_page_cannot_use_leaves_the_link_with_a_note():
    at = session(READING_PAGES[0], {"step": "nan"})
    assert no_exceptions(at)
    assert any("not a whole number" in i.value for i in at.info)
    assert "step" not in at.query_params
    assert stepper_specs(at)[0]["start"] == 0


def test_a_step_past_the_end_opens_the_last_token_and_the_link_says_so():
    prompt = "The cat sat on the mat and looked at the dog."
    at = session(READING_PAGES[0], {"prompt": prompt, "step": "99"})
    assert no_exceptions(at)
    n = len(stepper_specs(at)[0]["labels"])
    assert [i.value for i in at.info] == [f"The link asked for token 99, but the text has {n} tokens: showing the last one."]
    assert stepper_specs(at)[0]["start"] == n - 1
    assert at.query_params["step"] in (str(n), [str(n)])  # the address now names the token shown


def test_each_guided_page_ends_with_a_link_to_the_next_step():
    from tests.app_helpers import run_page

    def last_link(page: str) -> str:
        at = run_page(page)
        assert no_exceptions(at)
        links = at.get("page_link")
        return links[-1].proto.label

    assert last_link("pages/read_along.py") == "Next, step 2 of 6: Token shift — how each word hears the one before"
    assert last_link("pages/fading_memory.py").startswith("Next, step 4 of 6: Cost race")
    assert last_link("pages/caveats.py") == "That was the last step. Back to the start"
    start = run_page("pages/start.py")
    links = start.get("page_link")
    assert "join" in links[0].proto.page and "Join" in links[0].proto.label  # a workshop's participant: on top
    labels = [link.proto.label for link in links][1:]
    assert labels[:2] == ["1. Read along — watch a real model read your sentence",
                          "2. Token shift — how each word hears the one before"]
