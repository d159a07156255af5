"""Streamlit AppTest for the cost pages: /cost-race, /at-scale, /caveats, /glossary.

Each page file is run directly with `AppTest.from_file(<absolute path>)`. AppTest resolves a relative
path against the calling test file, so we pass an absolute one; the pages do `import app` / `import
model`, which need the repository root on `sys.path`. Streamlit itself puts the main script's folder
(pages/) there, not the root, so we add the root here; this is what `streamlit run streamlit_app.py`
gives the real app. No timing asserts: the cost race page gets fake races (tests/test_race.py) on a
temporary store, so it never measures for real here.
"""
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

from app import texts_cost as tx  # noqa: E402
from app.glossary import TERMS  # noqa: E402
from model import cost, race  # noqa: E402
from tests.app_helpers import as_array, markdown_tables, page_title, still_figures  # noqa: E402
from tests.test_race import MACHINE, FakeRaces, synthetic_race  # noqa: E402

TIMEOUT = 120


def page(name: str, **query) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / f"{name}.py"), default_timeout=TIMEOUT)
    for k, v in query.items():
        at.query_params[k] = v
    return at.run()


def all_text(at: AppTest) -> str:
    parts = [e.value for e in at.markdown] + [e.value for e in at.caption] + [e.value for e in at.info]
    parts += [str(m.label) + " " + str(m.value) + " " + str(m.delta) for m in at.metric]
    return "\n".join(parts)


# ------------------------------------------------------------------ cost race


@pytest.fixture
def races(tmp_path, monkeypatch):
    """Install the page's race runner: fake races (tests/test_race.py FakeRaces) on a temporary store, with
    `stored` results already kept for this machine. By default the fake race is held (it never ends, so what
    the page shows is the stored race); held fakes are released at the end."""
    from app import race_cache
    from app.race_cache import RaceRunner, RaceStore

    fakes = []

    def install(fake=None, stored=None, **kw):
        fake = fake if fake is not None else FakeRaces(hold=True)
        if isinstance(fake, FakeRaces):
            fakes.append(fake)
        store = RaceStore(tmp_path / "data")
        runner = RaceRunner(store=store, measure=fake, machine=MACHINE, **kw)
        for n, result in (stored or {}).items():
            assert store.save(runner.key, n, result)
        runner._results = store.load(runner.key)
        monkeypatch.setattr(race_cache, "_RUNNER", runner)
        return runner, fake

    yield install
    for fake in fakes:
        fake.release.set()


def clear_race(unix_time=100.0):
    return synthetic_race(list(race.GRID), lambda n: 1.8, lambda n: 2.0 + n / 1000, spread=0.2, unix_time=unix_time)


def chart_data(at, key_index):
    return still_figures(at)[key_index]["data"]


def test_cost_race_shows_the_stored_race_at_once_and_measures_behind_it(races):
    """Item 2: the page never waits for a race. A server start finds the last race on this machine and shows it
    while a fresh one runs in the background (held here: the page is drawn while the race has not ended)."""
    import time

    runner, fake = races(FakeRaces(hold=True), stored={8192: clear_race(unix_time=time.time() - 150)})
    at = page("cost_race", tokens="2048")
    assert not at.exception and not at.info
    assert fake.entered.wait(30) and fake.calls == [8192]  # the server-start race began, and is still running
    assert [m.label for m in at.metric] == ["RWKV after 2,048 tokens", "Transformer after 2,048 tokens"]
    assert at.metric[1].value == "4.05 ms per token"  # the stored race: 2.0 + 2048 / 1000
    label = next(c.value for c in at.caption if c.value.startswith("Measured"))
    assert label.startswith("Measured 2 minutes ago on the computer that runs this app: Test CPU, 2 cores, 1 thread")
    assert len(still_figures(at)) == 3
    progress = at.get("progress")
    assert progress and "Measuring again on the computer that runs this app" in progress[0].proto.text
    assert at.select_slider(key="race_tokens").value == 2048

    fake.release.set()
    assert runner.wait(30)
    at.run()  # the next look shows the fresh race, with no progress bar
    assert not at.exception and not at.get("progress")
    assert at.metric[1].value == "3.05 ms per token"  # FakeRaces: 1.0 + 2048 / 1000
    assert next(c.value for c in at.caption if c.value.startswith("Measured")).startswith("Measured just now")
    assert fake.calls == [8192]  # the page ran twice, the race once


def test_cost_race_streams_the_first_race_on_a_new_machine(races):
    """Nothing stored yet: the race in progress is drawn as it fills in, under a progress bar."""
    runner, fake = races(FakeRaces(hold=True))
    at = page("cost_race", tokens="1024")
    assert not at.exception and not at.info
    assert fake.entered.wait(30)
    at.run()
    assert "fill in as the race goes on" in at.get("progress")[0].proto.text
    assert [m.label for m in at.metric] == ["RWKV after 1,024 tokens", "Transformer after 1,024 tokens"]
    # while the race fills in, its charts are Streamlit's own (updated in place each second, no frame reload)
    assert len(at.get("plotly_chart")) == 3 and still_figures(at) == []


def test_cost_race_other_length_from_a_link_is_raced_in_the_background(races):
    runner, fake = races(FakeRaces())
    at = page("cost_race", tokens="1000")
    assert not at.exception and not at.info
    assert runner.wait(30)
    assert sorted(fake.calls) == [1000, 8192]  # the server-start race and this length's own
    at.run()
    assert [m.label for m in at.metric] == ["RWKV after 1,000 tokens", "Transformer after 1,000 tokens"]
    assert at.select_slider(key="race_tokens").value == 1000


@pytest.mark.parametrize("bad", ["abc", "-5", "99999999", "1e3", "", "[x](http://e.vil)"])
def test_cost_race_bad_tokens_param(bad, races):
    races(stored={8192: clear_race()})
    at = page("cost_race", tokens=bad)
    assert not at.exception
    if bad == "":
        assert not at.info
        return
    assert at.info, f"no visible message for tokens={bad!r}"
    msg = at.info[0].value
    assert "8,192" in msg
    assert "<" not in msg and "](" not in msg  # user text never becomes a link or HTML
    tokens = at.query_params["tokens"]
    assert tokens in ("8192", ["8192"])  # the invalid value does not stay in the address bar


def test_cost_race_repeated_tokens_are_noted(races):
    races(stored={8192: clear_race()})
    at = page("cost_race", tokens=["512", "1024"])
    assert not at.exception
    assert [i.value for i in at.info] == ['The link gives "tokens" 2 times (512, 1024); this page uses the last one, '
                                          "1024."]
    assert at.select_slider(key="race_tokens").value == 1024
    assert at.query_params["tokens"] in ("1024", ["1024"])
    at.run()  # the page runs again by itself when a race ends: the link's note stays
    assert len(at.info) == 1 and "2 times" in at.info[0].value


def test_cost_race_measure_again_is_shared_and_throttled(races):
    import time

    runner, fake = races(FakeRaces(), stored={8192: clear_race(unix_time=time.time() - 600)}, min_gap_s=0.0)
    a = page("cost_race", tokens="256")
    assert runner.wait(30)
    a.button[0].click().run()  # a fresh race of 256 tokens
    assert not a.exception and not a.info
    assert runner.wait(30) and sorted(fake.calls) == [256, 8192]
    a.run()
    label = next(c.value for c in a.caption if c.value.startswith("Measured"))
    assert label.startswith("Measured just now on the computer that runs this app")

    runner.min_gap_s = 3600.0
    b = page("cost_race", tokens="256")  # another visitor: sees the latest race, measured for visitor A
    assert not b.exception and not b.info
    b.button[0].click().run()  # too soon after A's race: no new race, a note instead
    assert not b.exception
    assert len(b.info) == 1 and "press again in about" in b.info[0].value
    assert "was started just now" in b.info[0].value
    assert [m.label for m in b.metric] == ["RWKV after 256 tokens", "Transformer after 256 tokens"]
    assert sorted(fake.calls) == [256, 8192]


def test_cost_race_says_when_it_cannot_show_growth(races):
    """Item 3: a race whose spreads overlap does not claim that the transformer's line climbs."""
    noisy = synthetic_race(list(race.GRID), lambda n: 5.0, lambda n: 6.0 if n % 2 else 6.5, spread=2.0)
    races(stored={8192: noisy})
    at = page("cost_race")
    assert not at.exception and not at.info and not at.warning
    said = "\n".join(m.value for m in at.markdown)
    assert "This time the race cannot show the transformer's time growing" in said
    assert "transformer's time climbs" not in said
    captions = "\n".join(c.value for c in at.caption)
    assert "too spread out to show it" in captions and "climbs" not in captions


def test_cost_race_table_and_charts_agree(races):
    """Item 3: the table, the charts and the metrics come from the same rows (once: "64 tokens" vs "65")."""
    races(stored={8192: clear_race()})
    at = page("cost_race", tokens="4096")
    assert not at.exception
    table, memory_table = markdown_tables(at)
    tokens = [int(t) for t in table["token"]]
    assert tokens == [1, 64, 256, 512, 1024, 2048, 3072, 4096]
    rwkv, gpt = chart_data(at, 0)  # time per token
    assert list(gpt["x"]) == tokens and list(rwkv["x"]) == tokens
    assert [f"{y:.2f}" for y in as_array(gpt["y"])] == list(table["transformer ms"])
    assert [f"{y:.2f}" for y in as_array(rwkv["y"])] == list(table["RWKV ms"])
    assert rwkv["name"] == gpt["name"].replace("Transformer", "RWKV") == "RWKV: median of 5 tries"
    assert any("the <abbr" in c.value and "of the 5 tries at that length" in c.value for c in at.caption)
    assert any("median</abbr> of 5 tries" in c.value for c in at.caption)
    memory = chart_data(at, 1)
    assert list(memory[1]["x"]) == tokens and memory[1]["customdata"][-1] == list(memory_table["transformer holds"])[-1]
    total = chart_data(at, 2)
    assert [int(t) for t in memory_table["token"]] == tokens
    assert [f"{y:.2f}" for y in as_array(total[1]["y"])] == list(memory_table["transformer total s"])
    assert at.metric[1].label == "Transformer after 4,096 tokens"
    assert at.metric[1].value == f"{list(table['transformer ms'])[-1]} ms per token"
    assert "Measured on Test CPU" in at.caption[-2].value or any("Measured on Test CPU" in c.value for c in at.caption)


def test_cost_race_falls_back_to_untrained_models(races, monkeypatch):
    import functools

    from app import loaders, race_cache
    from model.checkpoint import CheckpointError

    def missing():
        raise CheckpointError("checkpoint config not found: (test)")

    monkeypatch.setattr(loaders, "rwkv_model", missing)
    monkeypatch.setattr(loaders, "gpt_model", missing)
    runner, _ = races(functools.partial(race_cache.measure, repeats=2), standard=65)
    at = page("cost_race", tokens="65")
    assert runner.wait(120)
    at.run()
    assert not at.exception
    assert at.warning and "untrained models of the same size" in at.warning[0].value
    assert [m.label for m in at.metric] == ["RWKV after 65 tokens", "Transformer after 65 tokens"]


# ------------------------------------------------------------------ at scale


def _metric_values(at):
    return [(m.label, m.value) for m in at.metric]


def test_at_scale_renders_and_controls_change_numbers():
    at = page("at_scale")
    assert not at.exception and not at.info
    assert len(still_figures(at)) == 3
    first = _metric_values(at)
    assert first[0] == ("RWKV memory", "2.62 MB")  # 7B: 5 × 32 × 4096 × 4 bytes

    assert "computed from" in all_text(at)

    # 7B: 32 layers × 4096 wide = 32 heads of 128; GQA (on by default: the fair comparison) keeps 8 key/value
    # heads; fp16 cache (vLLM §3)
    assert first[1] == ("Transformer memory", cost.human_bytes(2 * 32 * 8 * 128 * 2 * 32768))
    # both cards follow the GQA switch, so they never mix the two transformers; the sentence under them gives
    # both, with GQA first, as recent models are built
    assert first[2] == ("Conversations on one 80 GB GPU", "24,877 vs 15")
    assert at.metric[2].delta == "RWKV vs transformer, with GQA" and at.metric[1].delta.endswith("with GQA")
    said = all_text(at)
    assert "24,877 such conversations with RWKV, 15 with a transformer that uses" in said
    assert "and 3 with one that does not" in said
    at.select_slider(key="scale_context").set_value(1_048_576).run()
    second = _metric_values(at)
    assert second[0] == first[0]  # the state does not grow …
    assert second[1] == ("Transformer memory", cost.human_bytes(2 * 32 * 8 * 128 * 2 * 1_048_576))
    assert second[1][1] == "137 GB"  # 137,438,953,472 bytes, a quarter of the cache without GQA
    assert at.query_params["context"] == ["1048576"] or at.query_params["context"] == "1048576"

    at.toggle(key="scale_gqa").set_value(False).run()
    third = _metric_values(at)
    assert third[0] == first[0]
    assert third[1] == ("Transformer memory", cost.human_bytes(2 * 32 * 32 * 128 * 2 * 1_048_576))
    fits = tx.gpu_fits(cost.MODEL_SIZES["7B"], 1_048_576)
    assert second[2] == ("Conversations on one 80 GB GPU", f"{fits['rwkv']:,} vs {fits['transformer_gqa']:,}")
    assert third[2] == ("Conversations on one 80 GB GPU", f"{fits['rwkv']:,} vs {fits['transformer']:,}")
    assert at.metric[2].delta == "RWKV vs transformer, without GQA"
    assert at.query_params["gqa"] in ("off", ["off"])

    at.selectbox(key="scale_size").select("169M").run()
    fourth = _metric_values(at)
    assert fourth[0] == ("RWKV memory", "184 KB")
    assert not at.exception


def test_at_scale_query_params_and_bad_ones():
    at = page("at_scale", size="14B", context="4096", gqa="on")
    assert not at.exception and not at.info
    assert at.selectbox(key="scale_size").value == "14B"
    assert at.select_slider(key="scale_context").value == 4096
    assert at.toggle(key="scale_gqa").value is True
    # 14B: 40 layers × 5120 wide = 40 heads of 128, GQA 8 key/value heads, fp16, 4,096 tokens
    assert _metric_values(at)[1] == ("Transformer memory", cost.human_bytes(2 * 40 * 8 * 128 * 2 * 4096))
    assert at.subheader[0].value == "One conversation of 4K tokens, 14B model"

    at = page("at_scale", size="99B", context="abc", gqa="maybe")
    assert not at.exception
    notes = [i.value for i in at.info]
    assert len(notes) == 3
    assert '"99B"' in notes[0] and "showing 7B" in notes[0]
    assert '"abc"' in notes[1] and "showing 32,768" in notes[1]
    assert '"maybe"' in notes[2] and "GQA is on" in notes[2]
    assert at.selectbox(key="scale_size").value == "7B"
    assert at.select_slider(key="scale_context").value == 32768
    assert at.toggle(key="scale_gqa").value is True
    assert _metric_values(at)[1] == ("Transformer memory", cost.human_bytes(2 * 32 * 8 * 128 * 2 * 32768))
    for q, want in (({"context": "5000"}, 32768), ({"context": "1024"}, 1024), ({"gqa": "off"}, None)):
        at = page("at_scale", **q)
        assert not at.exception
        if want is not None:
            assert at.select_slider(key="scale_context").value == want
            assert bool(at.info) == (want == 32768)  # 5,000 is not one of the choices: a note; 1,024 is
        else:
            assert at.toggle(key="scale_gqa").value is False and not at.info


def test_at_scale_gqa_switch_label_fits():
    at = page("at_scale")
    assert at.toggle(key="scale_gqa").label == "With GQA"  # was cut to "Transformer wit…" at 1280 px
    help_text = at.toggle(key="scale_gqa").help
    assert "always gives both" in help_text and "GPU count always compares" not in help_text  # the card follows it


def test_at_scale_notes_repeated_keys():
    at = page("at_scale", size=["7B", "3B"], gqa=["on", "on"])
    assert not at.exception
    assert [i.value for i in at.info] == ['The link gives "size" 2 times (7B, 3B); this page uses the last one, 3B.']
    assert at.selectbox(key="scale_size").value == "3B" and at.toggle(key="scale_gqa").value is True
    assert at.query_params["size"] in ("3B", ["3B"])


def test_at_scale_keeps_presenter_mode_and_embed_in_the_address():
    """The page rewrites only its own keys: present=1 (presenter mode) and Streamlit's embed survive."""
    at = page("at_scale", present="1", embed="true", size="3B", context="5000")
    assert not at.exception
    assert at.sidebar.toggle[0].value is True
    params = {k: at.query_params[k] for k in at.query_params}
    flat = {k: v[-1] if isinstance(v, list) else v for k, v in params.items()}
    assert flat == {"present": "1", "embed": "true", "size": "3B", "context": "32768", "gqa": "on"}
    at.selectbox(key="scale_size").select("14B").run()
    flat = {k: (v[-1] if isinstance(v, list) else v) for k, v in ((k, at.query_params[k]) for k in at.query_params)}
    assert flat["present"] == "1" and flat["embed"] == "true" and flat["size"] == "14B"


# ------------------------------------------------------------------ caveats and glossary


def test_caveats_renders_with_sources():
    at = page("caveats")
    assert not at.exception
    body = all_text(at)
    for arxiv in ("2305.13048", "2404.05892", "2503.14456", "2305.07759", "2312.04927", "2402.01032"):
        assert arxiv in body, arxiv
    assert "CDLA-Sharing-1.0" in body
    assert any("For builders" in e.label for e in at.expander)
    formulas = " ".join(m.value for m in at.markdown if "$$" in m.value)  # the builders' notes: one element, KaTeX
    assert r"\text{RWKV}" in formulas and r"\text{KV}}(t)" in formulas


def test_caveats_say_what_the_sources_say():
    """Issue #9's corrections stay corrected: re-ordering (not rewording), appendix L, no unsourced recall claim,
    the trained-length caveat for RWKV too, and vLLM's KiB."""
    at = page("caveats")
    body = all_text(at)
    for fact in ("RWKV-4-Raven", "44.2 to 74.8", "47.9 to 49.3", "38.2 to 40.9", "GoEmotions", "appendix L",
                 "1,024 tokens (§4.1), fine-tuned to 8,192 (§5.2)", "819,200 bytes", "eq. (16)", "v2+"):
        assert fact in body, fact
    for wrong in ("rewording", "RWKV community", "gap on recall has narrowed", "eq. (14)"):
        assert wrong not in body, wrong
    assert "RWKV's memory carries on, but it never practised longer texts" in body


def test_at_scale_builders_state_and_units_notes():
    at = page("at_scale", size="169M")
    body = all_text(at)
    assert "as the official code does" not in body
    # all five state vectors in fp32 vs ChatRWKV's 3 × fp32 + 2 × fp16: 12 layers × 768 channels
    assert cost.human_bytes(5 * 12 * 768 * 4) in body and cost.human_bytes(12 * 768 * (3 * 4 + 2 * 2)) in body
    assert "20% less" in body
    assert "800 KB per token for OPT-13B is 819,200 bytes" in body and "819 KB" in body
    assert "does not show how well the model still works there" in body


def test_glossary_lists_every_term_alphabetically():
    at = page("glossary")
    assert not at.exception
    entries = [m.value for m in at.markdown if m.value.startswith("**")]
    names = [e[2:e.index("**", 2)] for e in entries]
    assert names == sorted(TERMS, key=str.casefold)
    assert any("For builders" in e.label for e in at.expander)
    assert any("app/glossary.py" in m.value and "test_glossary_covers_terms_used_in_pages" in m.value
               for m in at.markdown)


def test_glossary_search_filters_and_never_echoes():
    at = page("glossary")
    at.text_input(key="glossary_query").input("cache").run()
    entries = [m.value for m in at.markdown if m.value.startswith("**")]
    assert entries and len(entries) < len(TERMS)
    assert any(e.startswith("**KV cache**") for e in entries)
    evil = "<img src=x onerror=alert(1)>"
    at.text_input(key="glossary_query").input(evil).run()
    assert not at.exception
    assert at.info  # "no term matches"
    assert all("onerror" not in m.value for m in at.markdown)
    assert all("onerror" not in c.value for c in at.caption)


@pytest.mark.parametrize("path,title", [("pages/at_scale.py", "At scale: real model sizes"),
                                        ("pages/caveats.py", "Claims and caveats"), ("pages/glossary.py", "Glossary")])
def test_pages_run_inside_the_app_navigation(path, title):
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=TIMEOUT)
    at.switch_page(path)
    at.run()
    assert not at.exception
    assert page_title(at) == title


def test_on_a_projector_the_race_lead_is_short_so_the_numbers_show():
    """The talk's race view says "read out the two big numbers": at 1280×720 the full lead pushed them off."""
    from app import texts_cost as tx

    first = tx.RACE_LEAD.split(".")[0]
    projector = page("cost_race", present="1")
    assert not projector.exception
    text = all_text(projector)
    assert first not in text and "We time one more" in text
    assert first in all_text(page("cost_race"))
