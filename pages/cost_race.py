"""Cost race (/cost-race): RWKV and the transformer read the same tokens; time and memory measured here."""
import streamlit as st

from app import figures_cost as fc
from app import loaders
from app import texts_cost as tx
from app.glossary import with_tooltips
from app.texts import FLOPS_SOURCE
from app.ui import chart, for_builders, page_header, text
from model.card import LOSS_BY_POSITION_TOKENS
from model.checkpoint import CheckpointError
from model.cost import human_bytes
from model.race import RaceDesk, summary_at

STAND_IN_NOTE = ("The trained models are not installed here, so the race uses untrained models of the same "
                 "size. Their guesses are nonsense, but each step costs exactly the same work.")


@st.cache_resource(show_spinner=False)
def race_desk() -> RaceDesk:
    """One per server process, shared by every visitor: races take turns; fresh runs at most every 30 s."""
    return RaceDesk()


@st.cache_resource(show_spinner=False)
def _stand_in_models():
    """Untrained models of the shipped size, for a server without the weights (same cost per step)."""
    from model.gpt import GPT, GPTConfig
    from model.rwkv import RWKV, RWKVConfig

    return RWKV(RWKVConfig()).init_official().eval(), GPT(GPTConfig()).eval()


def race_models():
    """(rwkv, gpt, tokenizer or None, note or None): the app's shared models (`app.loaders`), or
    untrained stand-ins with a note when the weights cannot be loaded."""
    try:
        rwkv, gpt, note = loaders.rwkv_model(), loaders.gpt_model(), None
    except (CheckpointError, OSError):  # weights missing or unreadable
        (rwkv, gpt), note = _stand_in_models(), STAND_IN_NOTE
    try:
        tok = loaders.tokenizer()
    except Exception:  # no tokenizer file: race_tokens uses stand-in ids (same cost per step)
        tok = None
    return rwkv, gpt, tok, note


@st.cache_data(show_spinner=False, max_entries=12)
def run_race(n_tokens: int, run: int = 0) -> dict:
    """Measured once per (length, run number) and shared by every visitor; the run number comes from
    `race_desk()`, so a new one means someone pressed "Measure again". One race at a time."""
    from model.race import measure_race, race_tokens

    rwkv, gpt, tok, _ = race_models()
    ids = race_tokens(n_tokens, tok, rwkv.cfg.vocab_size)
    desk = race_desk()
    with desk.lock:
        desk.started(n_tokens)
        return measure_race(rwkv, gpt, ids, every=1)


page_header("The cost race", tx.RACE_LEAD)

n_tokens, problem = tx.parse_tokens_param(st.query_params.get("tokens"))
if problem:
    st.info(problem, icon="ℹ️")
    st.query_params["tokens"] = str(n_tokens)  # the address bar holds the view actually shown

choices = sorted(set(tx.RACE_CHOICES) | {n_tokens})
picked = st.select_slider("How many tokens to race", options=choices, value=n_tokens,
                          format_func=lambda n: f"{n:,}", key="race_tokens",
                          help="Longer races show the gap better and take longer to measure the first time.")
if picked != n_tokens:
    n_tokens = picked
    st.query_params["tokens"] = str(picked)

desk = race_desk()
run, too_soon = desk.latest(n_tokens), None
if st.button("Measure again", help="Run a fresh race on this machine instead of showing the latest one "
                                   f"(at most one every {desk.min_gap_s:.0f} seconds for each length)."):
    run, too_soon = desk.request_fresh(n_tokens)
if too_soon is not None:
    st.info(tx.race_too_soon_note(n_tokens, too_soon, desk.min_gap_s), icon="⏱️")

spinner = tx.RACE_WAITING if desk.busy() else tx.RACE_RUNNING
with st.spinner(spinner.format(n=n_tokens)):
    result = run_race(n_tokens, run)
_, _, _, weights_note = race_models()
if weights_note:
    st.warning(weights_note, icon="⚠️")

st.caption(tx.race_machine_label(result["machine"]))

toks = result["tokens"]
rows = summary_at(result, points=sorted({p for p in (256, 1024, 2048, toks[-1]) if p <= toks[-1]}))
last = rows[-1]
c1, c2 = st.columns(2)
c1.metric(f"RWKV after {last['tokens']:,} tokens", f"{last['rwkv_ms']:.2f} ms per token",
          f"holds {human_bytes(last['rwkv_bytes'])}", delta_color="off", delta_arrow="off")
c2.metric(f"Transformer after {last['tokens']:,} tokens", f"{last['gpt_ms']:.2f} ms per token",
          f"holds {human_bytes(last['gpt_bytes'])}", delta_color="off", delta_arrow="off")
text(tx.race_headline(last))

ctx_len = result["config"]["gpt"]["ctx_len"]
fig = fc.race_memory_figure(toks, result["rwkv"]["bytes"], result["gpt"]["bytes"])
fc.add_trained_context_marker(fig, ctx_len)
chart(fig, "the blue line is RWKV's [[state]]: flat, the same box after every token. The dashed line is the "
           "transformer's [[KV cache]]: it grows by the same amount with every token read.", key="race_memory")

fig = fc.ms_per_token_figure(toks, result["rwkv"]["ms"], result["gpt"]["ms"])
fc.add_trained_context_marker(fig, ctx_len)
chart(fig, "each faint dot is one token's measured [[wall-clock time]]; the lines are the [[median]] of 65 "
           "neighbouring tokens. RWKV's line stays level; the transformer's climbs, because each new token "
           "looks back over all earlier ones. Stray high dots are other programs interrupting; the slowest are "
           "above the top of the chart (the chart's autoscale button shows them).", key="race_ms")

fig = fc.cumulative_time_figure(toks, result["rwkv"]["cumulative_s"], result["gpt"]["cumulative_s"])
chart(fig, "total time spent so far. A straight line means every token costs the same; a line that bends "
           "upwards means each token costs more than the one before.", key="race_cumulative")

st.subheader("Read the numbers")
st.dataframe(
    [{"tokens read": r["tokens"], "RWKV ms/token (median)": round(r["rwkv_ms"], 3),
      "transformer ms/token (median)": round(r["gpt_ms"], 3),
      "RWKV holds": human_bytes(r["rwkv_bytes"]), "transformer holds": human_bytes(r["gpt_bytes"]),
      "RWKV total s": round(r["rwkv_cumulative_s"], 2), "transformer total s": round(r["gpt_cumulative_s"], 2)}
     for r in rows],
    hide_index=True,
)
st.caption(with_tooltips("ms per token: the [[median]] of the 64 tokens up to that point, measured on this computer."),
           unsafe_allow_html=True)

st.subheader("Two honest notes")
text(tx.race_context_caveat(ctx_len, race_models()[0].cfg.ctx_len, LOSS_BY_POSITION_TOKENS))
params = max(result["config"]["rwkv"]["params"], result["config"]["gpt"]["params"])
text(tx.RACE_SMALL_MODEL_NOTE.format(params=f"about {params / 1e6:.1f} million"))

with for_builders("For builders: what is measured and the formulas", "model/race.py: measure_race; model/cost.py"):
    rc, gc = result["config"]["rwkv"], result["config"]["gpt"]
    st.markdown(
        f"Both models: {rc['n_layer']} layers × {rc['n_embd']} wide, vocabulary {rc['vocab_size']:,}; "
        f"the transformer has {gc['n_head']} heads and rotary positions. Each token is one `step` call on each "
        f"model in turn (same token, alternating, so background load hits both), timed with "
        f"`time.perf_counter`, single token, batch 1, {result['config']['dtype']}, "
        f"`torch.inference_mode`, {result['machine']['torch_threads']} torch thread. Bytes held: the RWKV state "
        f"tensor, and `KVCache.total_bytes()`."
    )
    st.markdown("RWKV state, constant (RWKV paper, arXiv 2305.13048, appendix D):")
    st.latex(r"\text{state} = 5 \cdot L \cdot D \ \text{numbers}")
    st.markdown("KV cache after $t$ tokens (vLLM paper, arXiv 2309.06180 §3):")
    st.latex(r"\text{KV}(t) = 2 \cdot L \cdot n_{kv} \cdot d_{head} \cdot \text{bytes} \cdot t")
    st.markdown(f"FLOPs per token (RWKV: {FLOPS_SOURCE}, arXiv 2305.13048; transformer: Kaplan et al. arXiv "
                "2001.08361 eq. 2.2, with both attention products counted):")
    st.latex(r"C_{\text{RWKV}} = 2(VD + 13D^2L) \qquad C_{\text{transformer}}(t) = 2(VD + 12D^2L) + 4\,L\,t\,D")
    st.markdown(
        f"For these models: RWKV {result['rwkv']['flops'][0]:,} FLOPs per token; the transformer "
        f"{result['gpt']['flops'][0]:,} at the first token and {result['gpt']['flops'][-1]:,} at token {toks[-1]:,}."
    )
    st.markdown("Deep link: add `?tokens=N` (64 to 4,096) to this page's address. Measurements are cached per "
                "length and shared by all visitors until someone presses *Measure again*. Races run one at a "
                f"time (one lock per server process), and a fresh race of the same length starts at most every "
                f"{desk.min_gap_s:.0f} s; a press sooner shows the latest measurement.")
