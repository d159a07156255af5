"""AppTest: the start and reading pages render, controls work, deep links restore the view, bad input is handled."""
import numpy as np
import pytest

from tests.app_helpers import as_array, no_exceptions, run_page, stepper_specs

READ = "pages/read_along.py"
SHIFT = "pages/token_shift.py"
FADE = "pages/fading_memory.py"


def frame_probs(spec, fig=0):
    return [as_array(f["data"][0]["x"]) for f in spec["figures"][fig]["frames"]]


@pytest.mark.parametrize("page", ["pages/start.py", READ, SHIFT, FADE])
def test_page_renders_without_exception(page):
    at = run_page(page)
    assert no_exceptions(at), [e.value for e in at.exception]


def test_read_along_steps_are_all_in_the_browser_and_predictions_change():
    at = run_page(READ)
    (spec,) = stepper_specs(at)
    n = len(spec["labels"])
    assert n > 10 and spec["start"] == 0
    assert all(len(f["frames"]) == n for f in spec["figures"])  # every step ships with the page
    probs = frame_probs(spec)
    assert any(not np.allclose(probs[0], p) for p in probs[1:]), "the prediction chart must change between steps"
    assert len(spec["notes"]) == n and "FLOPs" in spec["notes"][0]


def test_deep_link_restores_prompt_and_step():
    at = run_page(READ, {"prompt": "Tom had a red ball. He gave it to Sam.", "step": "4"})
    assert at.text_area[0].value == "Tom had a red ball. He gave it to Sam."
    (spec,) = stepper_specs(at)
    assert spec["start"] == 3
    assert "Tom" in "".join(spec["labels"])


@pytest.mark.parametrize("step,where,note", [
    ("banana", "first", 'The link\'s step "banana" is not a whole number'),
    ("-3", "first", "The link's step -3 is before the first token"),
    ("0", "first", "The link's step 0 is before the first token"),
    ("99999", "last", "The link asked for token 99999, but the text has"),
])
def test_bad_step_in_link_gives_a_note_not_an_error(step, where, note):
    at = run_page(READ, {"step": step})
    assert no_exceptions(at)
    notes = [i.value for i in at.info]
    assert len(notes) == 1 and notes[0].startswith(note), notes
    (spec,) = stepper_specs(at)
    assert spec["start"] == (0 if where == "first" else len(spec["labels"]) - 1)


def test_empty_prompt_gives_a_hint():
    at = run_page(READ)
    at.text_area[0].set_value("   ").run()
    assert no_exceptions(at)
    assert any("Type a sentence" in i.value for i in at.info)
    assert stepper_specs(at) == []
    assert [p for p in at.get("page_link") if "Next, step 2 of 6" in p.proto.label]  # not a dead end


def test_huge_prompt_is_truncated_visibly():
    at = run_page(READ)
    at.text_area[0].set_value("The cat sat on the mat. " * 200).run()  # 4,000 characters max, > 512 tokens
    assert no_exceptions(at)
    assert any("512" in w.value for w in at.warning)
    assert len(stepper_specs(at)[0]["labels"]) == 512


def test_a_paste_over_4000_characters_is_read_in_part_with_a_note():
    """The browser drops a paste over the box's limit whole, silently: the box takes far more, and the page
    reads the first 4,000 characters and says so."""
    at = run_page(READ)
    assert at.text_area[0].max_chars >= 50_000
    at.text_area[0].set_value("Sam had a kite. " * 340).run()  # 5,440 characters
    assert no_exceptions(at)
    assert any("5,440 characters; this page reads the first 4,000" in w.value for w in at.warning)
    assert stepper_specs(at)


def test_odd_unicode_and_html_are_plain_text():
    text = "<script>alert(1)</script> 👋🏽 世界 שלום \x07 <img src=x onerror=alert(1)>"
    at = run_page(READ)
    at.text_area[0].set_value(text).run()
    assert no_exceptions(at)
    (spec,) = stepper_specs(at)
    joined = "".join(spec["labels"]).replace("\u00a0", " ")
    assert "<script>" in joined and "onerror" in joined  # shown as text in chips
    html = at.get("iframe")[0].proto.srcdoc
    assert "<img src=x" not in html and html.count("<script") == 2  # the JSON spec and the stepper code (it adds plotly.js itself)


def test_an_emoji_cut_over_tokens_gets_part_chips_and_a_note():
    at = run_page(READ)
    at.text_area[0].set_value("I love pizza 🍕 and my dog 🐶").run()
    assert no_exceptions(at)
    labels = stepper_specs(at)[0]["labels"]
    assert "🍕\u202f1/4" in labels and "🐶\u202f4/4" in labels and not any("\ufffd" in x for x in labels)
    assert any("parts of one character" in c.value for c in at.caption)
    at.text_area[0].set_value("I love pizza and my dog").run()  # plain text: no note
    assert not any("parts of one character" in c.value for c in at.caption)


def greedy_continuation(ids: list[int], n: int) -> list[int]:
    """The shipped RWKV's greedy continuation, by stepping and taking the top logit (no generate code)."""
    from model.checkpoint import load_model

    model = load_model("rwkv")[0]
    state = model.new_state()
    for token in ids:
        logits, state = model.step(token, state)
    out = []
    for _ in range(n):
        out.append(int(logits.argmax()))
        logits, state = model.step(out[-1], state)
    return out


def written(at, n_prompt: int) -> list[str]:
    (spec,) = stepper_specs(at)
    assert spec["kinds"] == ["prompt"] * n_prompt + ["generated"] * (len(spec["labels"]) - n_prompt)
    return spec["labels"][n_prompt:]


def test_let_it_write_adds_generated_tokens():
    from app import loaders
    from app.stepper import display_piece
    from app.texts import DEFAULT_PROMPT
    from model.tokenizer import load_tokenizer

    at = run_page(READ)
    (before,) = stepper_specs(at)
    n_prompt = len(before["labels"])
    at.toggle(key="write_on").set_value(True).run()
    assert len(stepper_specs(at)[0]["labels"]) == n_prompt  # switching it on writes nothing yet
    at.button(key="write_go").click().run()  # defaults: 20 tokens, temperature 0 (greedy), seed 7
    assert (at.query_params["write"], at.query_params["temperature"], at.query_params["seed"]) == ("20", "0.0", "7")
    assert no_exceptions(at)
    (spec,) = stepper_specs(at)
    assert spec["labels"][:n_prompt] == before["labels"]  # the prompt is left as it was
    assert spec["start"] == n_prompt  # it opens on the first token the model wrote
    greedy = written(at, n_prompt)
    tok = load_tokenizer()
    ids = tok.encode(DEFAULT_PROMPT)
    assert len(ids) == n_prompt
    assert greedy == [display_piece(tok.piece(i)) for i in greedy_continuation(ids, 20)]

    # sampling: the same seed gives the same text (computed afresh, not from the cache), another seed another
    at.slider(key="write_temp").set_value(1.0).run()
    at.button(key="write_go").click().run()
    sampled = written(at, n_prompt)
    assert len(sampled) == 20 and sampled != greedy
    loaders.continue_text.clear()
    at.button(key="write_go").click().run()
    assert written(at, n_prompt) == sampled
    at.number_input(key="write_seed").set_value(8).run()
    at.button(key="write_go").click().run()
    other = written(at, n_prompt)
    assert len(other) == 20 and other != sampled
    assert no_exceptions(at)


def test_a_link_with_write_opens_the_written_text_and_a_new_text_drops_it():
    at = run_page(READ, {"prompt": "Tom had a red ball.", "write": "8", "temperature": "0", "seed": "7"})
    assert no_exceptions(at)
    assert at.toggle(key="write_on").value is True
    greedy = written(at, 6)
    assert len(greedy) == 8
    assert stepper_specs(at)[0]["start"] == 6  # no step in the link: the first written token
    stepped = run_page(READ, {"prompt": "Tom had a red ball.", "write": "8", "temperature": "0", "seed": "7", "step": "2"})
    assert stepper_specs(stepped)[0]["start"] == 1  # a link's step wins
    again = run_page(READ, {"prompt": "Tom had a red ball.", "write": "8", "temperature": "0", "seed": "7"})
    assert written(again, 6) == greedy  # another session (or another server process) gets the same text
    at.text_area(key="prompt_box").input("Sue saw a cat.").run()
    assert not any(key in at.query_params for key in ("write", "temperature", "seed"))
    assert set(stepper_specs(at)[0]["kinds"]) == {"prompt"}


def test_switching_write_off_drops_it_from_the_link():
    at = run_page(READ, {"write": "5"})
    assert at.query_params["write"] == "5"
    at.toggle(key="write_on").set_value(False).run()
    assert "write" not in at.query_params
    assert set(stepper_specs(at)[0]["kinds"]) == {"prompt"}


def test_bad_write_values_in_a_link_are_noted():
    at = run_page(READ, {"write": "lots"})
    assert any("is not a whole number" in i.value for i in at.info)
    assert at.toggle(key="write_on").value is False
    at = run_page(READ, {"write": "500", "temperature": "9", "seed": "x"})
    notes = " ".join(i.value for i in at.info)
    assert "so the model writes 60 tokens" in notes and "outside 0.0–1.5" in notes and 'seed "x"' in notes
    assert no_exceptions(at)


def test_sample_picker_changes_the_text():
    at = run_page(READ)
    at.selectbox(key="sample_choice").set_value("A rainy day").run()
    assert at.text_area[0].value.startswith("It was a rainy day")


def test_token_shift_ablation_changes_predictions():
    at = run_page(SHIFT)
    (spec,) = stepper_specs(at)
    assert len(spec["figures"]) == 4
    assert spec["figures"][3]["frames"] == []  # the layer's mixer settings: a still chart
    at.toggle(key="no_shift").set_value(True).run()
    assert no_exceptions(at)
    (spec,) = stepper_specs(at)
    frames = spec["figures"][0]["frames"]  # switched off, the guesses both ways come first
    normal = [as_array(f["data"][0]["x"]) for f in frames]
    ablated = [as_array(f["data"][1]["x"]) for f in frames]
    assert len(normal) == len(ablated) == len(spec["labels"])
    assert any(not np.allclose(a, b) for a, b in zip(normal, ablated))
    assert "Token shift is off, so nothing comes from the previous token now" in spec["notes"][1]


def echo_frames(at):
    (spec,) = stepper_specs(at)
    return spec, [as_array(f["data"][0]["y"]) for f in spec["figures"][0]["frames"]]


def test_fading_memory_ablations_change_what_echoes():
    at = run_page(FADE)
    spec, base = echo_frames(at)
    n = len(spec["labels"])
    at.radio(key="fade_ablation").set_value("no fading (decay frozen at 1)").run()
    assert no_exceptions(at)
    _, frozen = echo_frames(at)
    assert len(frozen) == n and not np.allclose(frozen[-1], base[-1])
    at.radio(key="fade_ablation").set_value("remove a token").run()
    assert at.selectbox(key="fade_drop").options[0] == f"1: “{spec['labels'][0]}”"  # as the chip shows it
    at.selectbox(key="fade_drop").set_value(2).run()
    assert no_exceptions(at)
    spec_removed, removed = echo_frames(at)
    assert spec_removed["labels"] == spec["labels"][:2] + spec["labels"][3:]  # token 3 went, nothing else
    assert len(removed) == n - 1 and len(removed[-1]) == n - 1
    # what echoes changed beyond losing that token's share: the model re-read the shorter text
    kept = np.delete(base[-1], 2)
    assert not np.allclose(removed[-1], kept / kept.sum(), atol=1e-3)
    np.testing.assert_allclose(removed[-1].sum(), 1.0, atol=1e-4)


def test_fading_memory_numbers_are_computed_from_the_model():
    """The half-lives and the bonus sentence come from the loaded weights (ln 2 / e^time_decay, e^(−u))."""
    from model.checkpoint import load_model

    model = load_model("rwkv")[0]
    w = np.stack([b.att.time_decay.detach().numpy() for b in model.blocks]).astype(np.float64)
    u = np.stack([b.att.time_first.detach().numpy() for b in model.blocks]).astype(np.float64)
    half_life = np.log(2) / np.exp(w)
    fast = (half_life <= 2).mean(axis=1)
    at = run_page(FADE)
    assert no_exceptions(at)
    text = " ".join(m.value for m in at.markdown) + " ".join(c.value for c in at.caption)
    assert f"fades to half in about {half_life.max():.0f} tokens" in text
    assert f"{round(100 * fast.min())}% to {round(100 * fast.max())}% of the channels" in text
    assert (u < 0).all()  # the shipped model: a token counts less on its own step …
    assert f"by {np.exp(-u).min():.1f} to {np.exp(-u).max():.1f} times" in text  # … and more on the next
    assert "only fades." in text and "from then on that share only fades" not in text


@pytest.mark.parametrize("page", [SHIFT, FADE])
def test_deep_link_restores_the_step_on_other_reading_pages(page):
    at = run_page(page, {"prompt": "Tom had a red ball. He gave it to Sam.", "step": "5"})
    assert no_exceptions(at)
    assert at.text_area[0].value == "Tom had a red ball. He gave it to Sam."
    assert stepper_specs(at)[0]["start"] == 4
    at = run_page(page, {"prompt": "Tom had a red ball.", "step": "1"})
    assert stepper_specs(at)[0]["start"] == 0


def test_token_shift_opens_on_token_two_unless_the_link_says():
    """Token 1 has no token before it (every bar 0%): token shift opens on token 2, also after an edit; a link's
    step (even 1) wins, and a one-token text opens on its only token."""
    at = run_page(SHIFT)
    assert stepper_specs(at)[0]["start"] == 1
    assert "step" not in at.query_params
    at.text_area[0].set_value("A completely new sentence about a dog.").run()
    assert stepper_specs(at)[0]["start"] == 1
    assert stepper_specs(run_page(SHIFT, {"prompt": "Tom had a red ball.", "step": "1"}))[0]["start"] == 0
    assert stepper_specs(run_page(SHIFT, {"prompt": "Tom"}))[0]["start"] == 0


def test_fading_memory_opens_on_the_last_token_unless_the_link_says():
    """On token 1 nothing has faded yet: the page opens where every earlier token has had time to fade."""
    at = run_page(FADE)
    spec = stepper_specs(at)[0]
    assert spec["start"] == len(spec["labels"]) - 1 > 0
    assert stepper_specs(run_page(FADE, {"prompt": "Tom had a red ball.", "step": "2"}))[0]["start"] == 1


def test_editing_the_text_starts_at_the_first_token():
    at = run_page(READ, {"step": "6"})
    assert stepper_specs(at)[0]["start"] == 5
    at.text_area[0].set_value("A completely new sentence about a dog.").run()
    assert stepper_specs(at)[0]["start"] == 0
    assert "step" not in at.query_params


def test_markdown_in_a_bad_link_is_not_rendered():
    at = run_page(READ, {"step": "[x](http://e.vil)"})
    assert no_exceptions(at)
    notes = [i.value for i in at.info]
    assert notes and all("](http" not in n for n in notes)


@pytest.mark.parametrize("page", ["pages/start.py", READ, "pages/caveats.py"])
def test_presenter_mode_from_link_and_switch(page):
    at = run_page(page, {"present": "1"})
    assert no_exceptions(at)
    assert at.sidebar.toggle[0].value is True
    assert any("font-size: 24px" in m.value for m in at.markdown)
    at.sidebar.toggle[0].set_value(False).run()
    assert not any("font-size: 24px" in m.value for m in at.markdown)
    assert "present" not in at.query_params


def test_presenter_mode_survives_a_page_switch():
    at = run_page("pages/start.py", {"present": "1"})
    at.switch_page("pages/glossary.py").run()
    assert no_exceptions(at)
    assert at.sidebar.toggle[0].value is True


def test_start_shows_the_model_card_in_the_app_not_as_a_file_path(tmp_path):
    """A visitor on a phone cannot open `model/weights/MODEL_CARD.md`: the card is in Start's last expander,
    its scores straight from the file, its headings as bold lines (the page keeps one <h1>)."""
    from app.texts import CREDITS, MODEL_CARD_PATH, model_card_markdown

    at = run_page("pages/start.py")
    assert no_exceptions(at)
    assert "MODEL_CARD.md`" not in CREDITS and "model card" in CREDITS
    card = at.expander[-1]
    assert "model card" in card.label
    body = "\n".join(m.value for m in card.markdown)
    assert "**validation loss**" in body and "2.7173" in MODEL_CARD_PATH.read_text() and "2.7173" in body
    assert not any(line.startswith(("#", "|")) for line in body.splitlines())  # tables as lists: a phone holds them
    assert "- **parameters (counted)**: RWKV-4: 3,499,008; transformer: 3,345,792" in body
    missing = tmp_path / "none.md"
    assert "missing" in model_card_markdown(missing)
