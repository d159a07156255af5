"""Plain-language texts shared by several pages (page-specific prose stays with its page).

Markdown with glossary markers such as [[token]] (see app/glossary.py).
"""
import functools
import re
from pathlib import Path

DEFAULT_PROMPT = "Once upon a time, there was a little girl named Lily. She loved to play in the park with her dog"

SAMPLE_PROMPTS = {
    "Lily in the park": DEFAULT_PROMPT,
    "Who has the ball?": "Tom had a red ball. He gave the ball to his friend Sam. Sam was very happy. Sam said, \"Thank you",
    "A rainy day": "It was a rainy day. Mia looked out of the window and felt sad. Her mom said, \"Let's",
    "The brave cat": "One day, a brave cat named Max went into the dark forest. He heard a loud noise and",
}

CREDITS = (
    "Model architecture: Peng et al., *RWKV: Reinventing RNNs for the Transformer Era*, arXiv 2305.13048 (2023). "
    "Training text: Eldan & Li, *TinyStories: How Small Can Language Models Be and Still Speak Coherent English?*, "
    "arXiv 2305.07759 (2023), licence CDLA-Sharing-1.0. Both small models here were trained by this project: "
    "how, and how well they do, is in their model card just below."
)

MODEL_CARD_PATH = Path(__file__).resolve().parents[1] / "model" / "weights" / "MODEL_CARD.md"


@functools.lru_cache(maxsize=1)
def model_card_markdown(path: Path = MODEL_CARD_PATH) -> str:
    """The shipped models' card (written by model/card.py) for a page: its own title dropped, its section
    headings as bold lines (the page keeps its own heading outline) and its tables as lists (a phone's width
    holds a list; a three-column table of sample stories ran off it).

    >>> "validation loss" in model_card_markdown()
    True
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return "The model card is missing from this copy of the app (`model/weights/MODEL_CARD.md`)."
    out, header = [], None
    for line in lines:
        if line.startswith("# "):
            continue
        if line.startswith("#"):
            out.append(f"\n**{line.lstrip('#').strip()}**\n")
        elif line.startswith("|"):
            out.extend(_table_row_as_item(line, header) if header else [])
            header = header or _cells(line)
        else:
            header = None
            out.append(line)
    return "\n".join(out).strip()


def _cells(row: str) -> list[str]:
    """A Markdown table row's cells (an escaped \\| stays inside its cell)."""
    return [c.strip() for c in re.split(r"(?<!\\)\|", row.strip().strip("|"))]


def _table_row_as_item(row: str, header: list[str]) -> list[str]:
    """One table row as a list item: its first cell in bold, then each other cell after its column's name.

    >>> _table_row_as_item("| loss | 2.7 | 2.9 |", ["", "RWKV", "GPT"])
    ['- **loss**: RWKV: 2.7; GPT: 2.9']
    >>> _table_row_as_item("|---|---|", ["a", "b"])
    []
    """
    cells = _cells(row)
    if all(set(c) <= set("-: ") for c in cells):  # the separator row
        return []
    names = [re.sub(r"\s*\(`[^`]*`\)", "", name) for name in header[1:]]  # "RWKV-4 (`rwkv.safetensors`)" -> "RWKV-4"
    rest = "; ".join(f"{name}: {cell}" if name else cell for name, cell in zip(names, cells[1:]))
    first = cells[0] if cells[0].startswith("**") else f"**{cells[0]}**"
    return [f"- {first}: {rest}" if cells[0] else f"- {rest}"]


EMPTY_PROMPT_HINT = "Type a sentence above (or pick a sample) and the model will read it token by token."
SPLIT_CHARACTER_NOTE = ("Chips like “🍕 1/4” are parts of one character. The model reads text as bytes. Most emoji "
                        "take 4 bytes, and a [[token]] can hold just some of them, so one emoji can take "
                        "several tokens. Each part gets its own chip and its own step.")

# ------------------------------------------------------------------ citing the RWKV paper
# One numbering everywhere: arXiv 2305.13048 v2 and later (the current version). There, eqs. 11–13 are the
# time-mixing token shift (r, k, v), 14–15 the channel-mixing token shift (r′, k′), 16 the WKV average,
# 17 the time-mixing output, 18 the channel-mixing output, 20–22 the WKV as a recurrence (appendix D); §4 is "Trained Models and Computing Costs"
# (with Table 2), appendix D the recurrent state, appendix L the prompt re-ordering experiment.
# (arXiv v1 numbered the same equations 11–13, 14 = WKV, 15 = output, 16–18 = channel mixing.)
RWKV_PAPER = "arXiv 2305.13048 v2+"
EQ = {"rkv": "11–13", "rk_channel": "14–15", "wkv": "16", "out": "17", "channel_out": "18",
      "wkv_rnn": "20", "ab_rnn": "21–22"}  # appendix D: the WKV as a recurrence
FLOPS_SOURCE = ("the formula that reproduces the FLOP column of Table 2 of the RWKV paper exactly (the paper's own "
                "text, §4, writes it differently)")


# ------------------------------------------------------------------ facts about the shipped model's memory
def memory_facts(decay, bonus) -> dict:
    """Numbers about how a model's memory fades, computed from its per-layer decay factors e^{−e^w} and
    bonus u (both (L, C), as in `model.traces.RWKVTrace`), so the pages never type them.

    Keys: longest (tokens, the longest finite half-life), fast_lo / fast_hi (smallest and largest share of a
    layer's channels that halve within 2 tokens), u_lo / u_hi (range of u), rise_lo / rise_hi (range of
    e^{−u}: how many times a token's raw weight grows from its own step to the next one).

    >>> import numpy as np
    >>> decay, bonus = np.array([0.5, 0.99]).reshape(1, 2), np.array([-1.0, -0.5]).reshape(1, 2)
    >>> f = memory_facts(decay, bonus)
    >>> round(f["longest"]), f["fast_lo"], round(f["rise_hi"], 2)
    (69, 0.5, 2.72)
    """
    import numpy as np

    from model.traces import half_life_tokens

    hl = half_life_tokens(np.asarray(decay, dtype=np.float64))
    finite = hl[np.isfinite(hl)]
    fast = (hl <= 2.0).mean(axis=1)
    u = np.asarray(bonus, dtype=np.float64)
    return {
        "longest": float(finite.max()) if finite.size else float("inf"),
        "fast_lo": float(fast.min()), "fast_hi": float(fast.max()),
        "u_lo": float(u.min()), "u_hi": float(u.max()),
        "rise_lo": float(np.exp(-u).min()), "rise_hi": float(np.exp(-u).max()),
    }


def _pct_range(lo: float, hi: float) -> str:
    a, b = round(100 * lo), round(100 * hi)
    return f"{a}%" if a == b else f"{a}% to {b}%"


def fading_summary(f: dict) -> str:
    """Plain words for `memory_facts`: how long this model's memory lasts."""
    longest = "never fades" if f["longest"] == float("inf") else f"fades to half in about {f['longest']:.0f} tokens"
    return (f"In this model, the longest-lasting channel {longest}. In each [[layer]], "
            f"{_pct_range(f['fast_lo'], f['fast_hi'])} of the channels fade to half within 2 tokens. So the memory "
            "leans on the last few words. It is a summary, not a record of everything read.")


def bonus_summary(f: dict) -> str:
    """Plain words for the bonus u: how a token's weight changes between its own step and the next one."""
    lo, hi = f"{f['rise_lo']:.1f}", f"{f['rise_hi']:.1f}"
    if f["u_hi"] < 0:
        return (f"A token counts less on the step it is read: its [[bonus]] is negative in every channel of this "
                f"model. One step later its weight goes up, by {lo} to {hi} times, depending on the channel. From then "
                "on it only fades.")
    if f["u_lo"] > 0:
        return ("A token counts extra on the step it is read: its [[bonus]] is positive in every channel of this "
                "model. From the next step on it only fades.")
    return ("On the step a token is read, its [[bonus]] makes it count more in some channels and less in others. "
            "From the next step on it only fades.")
