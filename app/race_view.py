"""The Cost race page's drawing: one measured race as metrics, sentences, charts and tables, and the race in
progress (a progress bar; the partial result while nothing else is there). Everything drawn from one result
reads the same rows (`model.race.race_rows`), so the table, the charts and the sentences agree.

Example (in a page):
    snap = race_cache.runner().snapshot(n_tokens)
    if snap.result is not None:
        draw_race(snap.result, n_tokens)
"""
from __future__ import annotations

import streamlit as st

from model import race
from model.cost import human_bytes

from . import figures_cost as fc
from . import race_cache
from . import texts_cost as tx
from .glossary import with_tooltips
from .stepper import PreparedStepper, prepare_still
from .ui import chart, table, text


def result_key(result: dict, n_tokens: int) -> tuple:
    """What identifies the charts of one complete race shown at one length."""
    return (result["machine"].get("unix_time"), result["machine"].get("cpu"), result.get("models"),
            tuple(result["lengths"]), result.get("repeats"), n_tokens)


@st.cache_resource(max_entries=16, show_spinner=False)
def race_charts(_result: dict, key: tuple) -> tuple[PreparedStepper, PreparedStepper, PreparedStepper]:
    """The three charts of a complete race, built once per race and length and shared by every visitor
    (building them is ~60 ms of Plotly per page run). `key`: `result_key(_result, n_tokens)`."""
    rows = race.race_rows(_result, upto=key[-1])
    return tuple(prepare_still([fig]) for fig in fc.race_figures(rows, _result["config"]["gpt"]["ctx_len"]))


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

    if live:  # a race filling in: Streamlit's own charts, redrawn in place every second
        ms_fig, memory_fig, total_fig = fc.race_figures(rows, result["config"]["gpt"]["ctx_len"])
    else:
        ms_fig, memory_fig, total_fig = race_charts(result, result_key(result, n_tokens))
    chart(ms_fig, tx.race_ms_caption(verdict, tries), key="race_ms", live=live)
    chart(memory_fig, "the blue line is RWKV's [[state]]: flat, the same box after every token. The dashed line is "
                      "the transformer's [[KV cache]]: it grows by the same amount with every token read.",
          key="race_memory", live=live)
    chart(total_fig, "the time to read the whole text so far, added up from the times above. A straight line means "
                     "every token costs the same; a line that bends upwards means each token costs more than the one "
                     "before.", key="race_cumulative", live=live)

    st.subheader("Read the numbers")
    time_table, memory_table = tx.race_table_parts(tx.race_table(rows))  # two narrow tables: a phone sees every column
    table(time_table)
    table(memory_table)
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
