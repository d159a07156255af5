"""Streamlit AppTest for the cost pages: /cost-race, /at-scale, /caveats, /glossary.

Each page file is run directly with `AppTest.from_file(<absolute path>)`. AppTest resolves a relative
path against the calling test file, so we pass an absolute one; the pages do `import app` / `import
model`, which need the repository root on `sys.path`. Streamlit itself puts the main script's folder
(pages/) there, not the root, so we add the root here; this is what `streamlit run streamlit_app.py`
gives the real app. No timing asserts: the cost race runs with `tokens=64` to stay fast.
"""
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

from app.glossary import TERMS  # noqa: E402
from model import cost  # noqa: E402

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


def test_cost_race_renders_small():
    at = page("cost_race", tokens="64")
    assert not at.exception
    assert not at.info  # valid parameter: no message
    assert "just now on this machine" in all_text(at)  # the label says when it was measured
    labels = [m.label for m in at.metric]
    assert labels == ["RWKV after 64 tokens", "Transformer after 64 tokens"]
    assert at.select_slider(key="race_tokens").value == 64
    assert len(at.get("plotly_chart")) == 3
    assert any("past that point" in m.value.lower() or "past it" in m.value.lower() for m in at.markdown)


@pytest.mark.parametrize("bad", ["abc", "-5", "99999999", "1e3", "", "[x](http://e.vil)"])
def test_cost_race_bad_tokens_param(bad, monkeypatch):
    # the default race (2,048 tokens) is replaced by a tiny stand-in so bad links stay quick to test
    import model.race as race

    real = race.measure_race
    monkeypatch.setattr(race, "measure_race", lambda r, g, ids, **kw: real(r, g, list(ids)[:64], **kw))
    at = page("cost_race", tokens=bad)
    assert not at.exception
    if bad == "":
        assert not at.info
        return
    assert at.info, f"no visible message for tokens={bad!r}"
    msg = at.info[0].value
    assert "2,048" in msg
    assert "<" not in msg and "](" not in msg  # user text never becomes a link or HTML
    tokens = at.query_params["tokens"]
    assert tokens in ("2048", ["2048"])  # the invalid value does not stay in the address bar


def test_cost_race_measure_again_is_shared_and_throttled(monkeypatch):
    # one RaceDesk per process (st.cache_resource): its run numbers are shared by every visitor
    from model.race import RaceDesk

    monkeypatch.setattr(RaceDesk, "min_gap_s", 0.0)  # any press starts a fresh race
    a = page("cost_race", tokens="64")
    a.button[0].click().run()
    assert not a.exception and not a.info
    label = next(c.value for c in a.caption if c.value.startswith("Measured"))
    assert label.startswith("Measured just now on this machine")

    monkeypatch.setattr(RaceDesk, "min_gap_s", 3600.0)
    b = page("cost_race", tokens="64")  # another visitor: sees the latest race, measured for visitor A
    assert not b.exception and not b.info
    b.button[0].click().run()  # too soon after A's race: no new race, a note instead
    assert not b.exception
    assert len(b.info) == 1 and "press again in about" in b.info[0].value
    assert "tokens was started just now" in b.info[0].value
    assert [m.label for m in b.metric] == ["RWKV after 64 tokens", "Transformer after 64 tokens"]


def test_cost_race_falls_back_to_untrained_models(monkeypatch):
    from app import loaders
    from model.checkpoint import CheckpointError

    def missing():
        raise CheckpointError("checkpoint config not found: (test)")

    monkeypatch.setattr(loaders, "rwkv_model", missing)
    monkeypatch.setattr(loaders, "gpt_model", missing)
    at = page("cost_race", tokens="65")  # a length no other test caches
    assert not at.exception
    assert at.warning and "untrained models of the same size" in at.warning[0].value
    assert [m.label for m in at.metric] == ["RWKV after 65 tokens", "Transformer after 65 tokens"]


# ------------------------------------------------------------------ at scale


def _metric_values(at):
    return [(m.label, m.value) for m in at.metric]


def test_at_scale_renders_and_controls_change_numbers():
    at = page("at_scale")
    assert not at.exception and not at.info
    assert len(at.get("plotly_chart")) == 3
    first = _metric_values(at)
    assert first[0] == ("RWKV memory per conversation", "2.62 MB")  # 7B: 5 × 32 × 4096 × 4 bytes
    assert "computed from" in all_text(at)

    # 7B: 32 layers × 4096 wide = 32 heads of 128; GQA keeps 8 key/value heads; fp16 cache (vLLM §3)
    assert first[1] == ("Transformer memory per conversation", cost.human_bytes(2 * 32 * 32 * 128 * 2 * 32768))
    at.select_slider(key="scale_context").set_value(1_048_576).run()
    second = _metric_values(at)
    assert second[0] == first[0]  # the state does not grow …
    assert second[1] == ("Transformer memory per conversation", cost.human_bytes(2 * 32 * 32 * 128 * 2 * 1_048_576))
    assert at.query_params["context"] == ["1048576"] or at.query_params["context"] == "1048576"

    at.toggle(key="scale_gqa").set_value(True).run()
    third = _metric_values(at)
    assert third[0] == first[0]
    assert third[1] == ("Transformer memory per conversation", cost.human_bytes(2 * 32 * 8 * 128 * 2 * 1_048_576))
    assert third[1][1] == "137 GB"  # 137,438,953,472 bytes, a quarter of the cache without GQA

    at.selectbox(key="scale_size").select("169M").run()
    fourth = _metric_values(at)
    assert fourth[0] == ("RWKV memory per conversation", "184 KB")
    assert not at.exception


def test_at_scale_query_params_and_bad_ones():
    at = page("at_scale", size="14B", context="4096", gqa="on")
    assert not at.exception and not at.info
    assert at.selectbox(key="scale_size").value == "14B"
    assert at.select_slider(key="scale_context").value == 4096
    assert at.toggle(key="scale_gqa").value is True
    # 14B: 40 layers × 5120 wide = 40 heads of 128, GQA 8 key/value heads, fp16, 4,096 tokens
    assert _metric_values(at)[1] == ("Transformer memory per conversation", cost.human_bytes(2 * 40 * 8 * 128 * 2 * 4096))
    assert at.subheader[0].value == "One conversation of 4K tokens, 14B model"

    at = page("at_scale", size="99B", context="abc", gqa="maybe")
    assert not at.exception
    notes = [i.value for i in at.info]
    assert len(notes) == 3
    assert '"99B"' in notes[0] and "showing 7B" in notes[0]
    assert '"abc"' in notes[1] and "showing 32,768" in notes[1]
    assert '"maybe"' in notes[2] and "GQA is off" in notes[2]
    assert at.selectbox(key="scale_size").value == "7B"
    assert at.select_slider(key="scale_context").value == 32768
    assert at.toggle(key="scale_gqa").value is False
    assert _metric_values(at)[1] == ("Transformer memory per conversation", cost.human_bytes(2 * 32 * 32 * 128 * 2 * 32768))
    for q, want in (({"context": "5000"}, 32768), ({"context": "1024"}, 1024), ({"gqa": "off"}, None)):
        at = page("at_scale", **q)
        assert not at.exception
        if want is not None:
            assert at.select_slider(key="scale_context").value == want
            assert bool(at.info) == (want == 32768)  # 5,000 is not one of the choices: a note; 1,024 is
        else:
            assert at.toggle(key="scale_gqa").value is False and not at.info


# ------------------------------------------------------------------ caveats and glossary


def test_caveats_renders_with_sources():
    at = page("caveats")
    assert not at.exception
    body = all_text(at)
    for arxiv in ("2305.13048", "2404.05892", "2503.14456", "2305.07759", "2312.04927", "2402.01032"):
        assert arxiv in body, arxiv
    assert "CDLA-Sharing-1.0" in body
    assert any("For builders" in e.label for e in at.expander)
    formulas = " ".join(x.value for x in at.latex)
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
    assert at.title and at.title[0].value == title
