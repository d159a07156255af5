"""Cost race (/cost-race): RWKV and the transformer, time per token and memory held, measured on this machine.

Races run in the background (app/race_cache.py: one at a time per process, the last result per machine
kept on disk, a fresh one at server start), so the page never waits for one: it shows the latest result
at once, and a race in progress as a progress bar (and, when there is nothing yet, as it fills in).
"""
import streamlit as st

from app import figures_cost as fc
from app import race_cache
from app import texts_cost as tx
from app.glossary import with_tooltips
from app.state import last_value
from app.texts import FLOPS_SOURCE
from app.ui import chart, for_builders, page_header, text
from model import race
from model.card import LOSS_BY_POSITION_TOKENS
from model.cost import human_bytes

POLL_S = 1.0  # how often a page with a race in progress looks again
LINK_NOTES = "_race_link_notes"  # (tokens shown, notes) of the link this session opened with


def draw_race(result: dict, n_tokens: int, live: bool = False) -> None:
    """Everything measured, from one result: the table, the charts and the sentences all read the same rows.
    `live`: a race still filling in (its charts are redrawn every second)."""
    rows = race.race_rows(result, upto=n_tokens)
    if not rows:
        return
    if result.get("models") == race_cache.STAND_IN:
        st.warning(tx.STAND_IN_NOTE, icon="⚠️")
    tries = min(r["tries"] for r in rows)
    verdict = race.growth_verdict(rows)
    st.caption(tx.race_machine_label(result["machine"]))

    last = rows[-1]
    c1, c2 = st.columns(2)
    c1.metric(f"RWKV after {last['tokens']:,} tokens", f"{last['rwkv_ms']:.2f} ms per token",
              f"holds {human_bytes(last['rwkv_bytes'])}", delta_color="off", delta_arrow="off")
    c2.metric(f"Transformer after {last['tokens']:,} tokens", f"{last['gpt_ms']:.2f} ms per token",
              f"holds {human_bytes(last['gpt_bytes'])}", delta_color="off", delta_arrow="off")
    text(tx.race_headline(last))
    text(tx.race_verdict(verdict))

    ms_fig, memory_fig, total_fig = fc.race_figures(rows, result["config"]["gpt"]["ctx_len"])
    chart(ms_fig, tx.race_ms_caption(verdict, tries), key="race_ms", live=live)
    chart(memory_fig, "the blue line is RWKV's [[state]]: flat, the same box after every token. The dashed line is "
                      "the transformer's [[KV cache]]: it grows by the same amount with every token read.",
          key="race_memory", live=live)
    chart(total_fig, "the time to read the whole text so far, added up from the times above. A straight line means "
                     "every token costs the same; a line that bends upwards means each token costs more than the one "
                     "before.", key="race_cumulative", live=live)

    st.subheader("Read the numbers")
    time_table, memory_table = tx.race_table_parts(tx.race_table(rows))  # two narrow tables: a phone sees every column
    st.table(time_table, hide_index=True)
    st.table(memory_table, hide_index=True)
    st.caption(with_tooltips(tx.race_table_caption(tries, result["machine"])), unsafe_allow_html=True)


def live_part(runner, n: int, polling: bool) -> None:
    """The race in progress: a progress bar, and the partial result when there is nothing else to show.
    Runs again every POLL_S seconds while a race is on; when it ends, the whole page runs once more."""
    now = runner.snapshot(n)
    if polling and not now.running:
        st.rerun()
    if now.running:
        frac = now.done / now.total if now.total else 0.0
        st.progress(min(1.0, frac), text=tx.race_progress_text(now.done, now.total, now.result is not None))
    if now.result is None:
        if now.partial is not None and now.partial.get("repeats", 0) >= 1:
            draw_race(now.partial, n, live=True)
        elif not now.running:
            text(tx.race_failed_text(now.error))


page_header("The cost race", tx.RACE_LEAD)

raw, repeated = last_value("tokens", st.query_params.get_all("tokens"))
n_tokens, problem = tx.parse_tokens_param(raw)
notes = repeated + ([problem] if problem else [])
if notes:
    st.query_params["tokens"] = str(n_tokens)  # the address bar holds the view actually shown
    st.session_state[LINK_NOTES] = (str(n_tokens), notes)
elif st.session_state.get(LINK_NOTES, (None,))[0] == raw:
    notes = st.session_state[LINK_NOTES][1]  # the page ran again (a race ended): the link's notes stay
for note in notes:
    st.info(note, icon="ℹ️")

choices = sorted(set(tx.RACE_CHOICES) | {n_tokens})
picked = st.select_slider("How many tokens to race", options=choices, value=n_tokens,
                          format_func=lambda n: f"{n:,}", key="race_tokens",
                          help="Longer races show the gap better. All the lengths offered here are measured "
                               "together, in the background.")
if picked != n_tokens:
    n_tokens = picked
    st.query_params["tokens"] = str(picked)
    st.session_state.pop(LINK_NOTES, None)

runner = race_cache.runner()
measure_again = st.button("Measure again", help="Run a fresh race on this computer, in the background. The page "
                                                "shows the latest race until the new one ends (at most one every "
                                                f"{runner.min_gap_s:.0f} seconds for each length).")
snap = runner.snapshot(n_tokens)
live_slot = st.container()  # the race in progress goes here, above the results (filled at the end of the run)
result = snap.result
if result is not None:
    draw_race(result, n_tokens)

st.subheader("Two honest notes")
rwkv_model, gpt_model, _, _ = race_cache.race_models()
text(tx.race_context_caveat(gpt_model.cfg.ctx_len, rwkv_model.cfg.ctx_len, LOSS_BY_POSITION_TOKENS))
shown = result or snap.partial
params = max(rwkv_model.num_params(), gpt_model.num_params())
text(tx.RACE_SMALL_MODEL_NOTE.format(params=f"about {params / 1e6:.1f} million"))

with for_builders("For builders: what is measured and the formulas", "model/race.py: measure_race; model/cost.py") \
        as builders:
    if shown:
        builders.markdown(tx.race_method_note(shown))
        builders.markdown("RWKV state, constant (RWKV paper, arXiv 2305.13048, appendix D):")
        builders.latex(r"\text{state} = 5 \cdot L \cdot D \ \text{numbers}")
        builders.markdown("KV cache after $t$ tokens (vLLM paper, arXiv 2309.06180 §3):")
        builders.latex(r"\text{KV}(t) = 2 \cdot L \cdot n_{kv} \cdot d_{head} \cdot \text{bytes} \cdot t")
        builders.markdown(f"FLOPs per token (RWKV: {FLOPS_SOURCE}, arXiv 2305.13048; transformer: Kaplan et al. "
                          "arXiv 2001.08361 eq. 2.2, with both attention products counted):")
        builders.latex(r"C_{\text{RWKV}} = 2(VD + 13D^2L) \qquad C_{\text{transformer}}(t) = 2(VD + 12D^2L) + 4\,L\,t\,D")
        builders.markdown(tx.race_flops_note(shown))
    builders.markdown(tx.race_runs_note(runner.min_gap_s))

# Races start after the page is drawn, so that a race starting now does not slow down this first look.
runner.ensure_started()  # the server-start race, once per process (app.serve can start it before the first visit)
if measure_again:
    what, since = runner.request(n_tokens, fresh=True)
    with live_slot:
        if what == "too soon":
            st.info(tx.race_too_soon_note(n_tokens, since, runner.min_gap_s), icon="⏱️")
        elif what == "running":
            st.info(tx.race_running_note(since), icon="⏱️")
else:
    runner.request(n_tokens)  # starts a race only when nothing measured covers this length (e.g. ?tokens=1000)
polling = runner.snapshot(n_tokens).running
with live_slot:
    st.fragment(run_every=POLL_S if polling else None)(live_part)(runner, n_tokens, polling)
