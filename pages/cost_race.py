"""Cost race (/cost-race): RWKV and the transformer, time per token and memory held, measured on this machine.

Races run in the background (app/race_cache.py: one at a time per process, the last result per machine
kept on disk, a fresh one at server start unless the kept one is recent), so the page never waits for
one: it shows the latest result at once, and a race in progress as a progress bar (and, when there is
nothing yet, as it fills in).
"""
import streamlit as st

from app import race_cache
from app import texts_cost as tx
from app.race_view import draw_race, live_part
from app.state import last_value
from app.texts import FLOPS_SOURCE
from app.ui import for_builders, next_on_the_path, page_header, presenter_on, text
from model.card import LOSS_BY_POSITION_TOKENS

POLL_S = 1.0  # how often a page with a race in progress looks again
LINK_NOTES = "_race_link_notes"  # (tokens shown, notes) of the link this session opened with


page_header("The cost race", tx.RACE_LEAD, presenter_lead=tx.RACE_LEAD_PROJECTOR)  # a projector shows the numbers

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

# On a projector the measured numbers come first (1280×720 shows them all), the controls under them.
above, results_area, below = st.container(), st.container(), st.container()
controls = below if presenter_on() else above
choices = sorted(set(tx.RACE_CHOICES) | {n_tokens})
picked = controls.select_slider("How many tokens to race", options=choices, value=n_tokens,
                          format_func=lambda n: f"{n:,}", key="race_tokens",
                          help="Longer races show the gap better. All the lengths offered here are measured "
                               "together, in the background.")
if picked != n_tokens:
    n_tokens = picked
    st.query_params["tokens"] = str(picked)
    st.session_state.pop(LINK_NOTES, None)

runner = race_cache.runner()
measure_again = controls.button("Measure again", help="Run a fresh race on this computer, in the background. The page "
                                                "shows the latest race until the new one ends (at most one every "
                                                f"{runner.min_gap_s:.0f} seconds for each length).")
snap = runner.snapshot(n_tokens)
with results_area:
    live_slot = st.container()  # the race in progress goes here, above the results (filled at the end of the run)
    result = snap.result
    if result is not None:
        draw_race(result, n_tokens)

st.subheader("Two honest notes")
rwkv_model, gpt_model, _, _ = race_cache.race_models()
text(tx.race_context_caveat(gpt_model.cfg.ctx_len, rwkv_model.cfg.ctx_len, LOSS_BY_POSITION_TOKENS))
shown = result or snap.partial
low, high = sorted((rwkv_model.num_params() / 1e6, gpt_model.num_params() / 1e6))
text(tx.RACE_SMALL_MODEL_NOTE.format(params=f"about {low:.1f} to {high:.1f} million"))

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
    builders.markdown(tx.race_runs_note(runner.min_gap_s, runner.keep_fresh_s, runner.refresh_delay_s))

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

next_on_the_path("pages/cost_race.py")
