"""app/steps.py: the plain-language line under the chips and what a screen reader announces per step."""
from __future__ import annotations

import numpy as np

from app import steps
from app.figures import previous_token_share
from tests.test_figures import fixed_trace


def test_read_along_summary_names_token_top_guess_and_both_memories():
    tr = fixed_trace()
    gpt = np.arange(1, 7) * 1536
    lines = steps.read_along_summaries(tr, gpt)
    assert len(lines) == 6
    assert lines[0].startswith("Token 1 of 6: “Once”.")
    assert f"“w3_0” ({100 * tr.top_probs[3, 0]:.0f}%)" in lines[3]
    assert "Memory held: RWKV 320 bytes" in lines[3]  # the trace's measured state (20·L·C bytes here)
    assert lines[3].endswith("the transformer 6.14 KB.")  # 4 × 1,536 bytes, computed per step
    assert "Token 4 of 6: “↵”" in lines[3]  # a newline token is named, not blank


def test_token_shift_note_reports_the_chosen_layers_share():
    tr = fixed_trace()
    shares = previous_token_share(tr)
    lines = steps.token_shift_notes(tr, shares, layer=1)
    assert "first token" in lines[0]
    assert f"In layer 2, {100 * shares['k'][2, 1]:.0f}% of what feeds the key" in lines[2]


def test_token_shift_note_with_it_switched_off_says_so_and_gives_both_guesses():
    tr = fixed_trace()
    off = fixed_trace()
    off.top_pieces = [["zz"] + row[1:] for row in tr.top_pieces]
    shares = previous_token_share(tr)
    lines = steps.token_shift_notes(tr, shares, layer=1, switched_off=off)
    assert "nothing comes from the previous token now" in lines[2]
    assert f"trained, layer 2 takes {100 * shares['k'][2, 1]:.0f}%" in lines[2]
    assert f"with token shift: “{tr.top_pieces[2][0]}”" in lines[2] and "without: “zz”" in lines[2]
    assert "off" not in lines[0].split("Top guess")[0]  # the first token has no previous one to mention


def test_fading_note_names_the_token_that_counts_most_for_each_model():
    tr = fixed_trace()
    rwkv = np.tril(np.ones((6, 6))) / np.arange(1, 7)[:, None]
    rwkv[4, :5] = [0.1, 0.5, 0.2, 0.1, 0.1]
    gpt = np.eye(6)
    line = steps.fading_notes(tr, rwkv, gpt, layer=0)[4]
    assert "for RWKV, token 2 “\u00a0upon” (50%)" in line
    assert "for the transformer, token 5 “" in line and "(100%)" in line
    assert "Only this token" in steps.fading_notes(tr, rwkv, gpt, layer=0)[0]


def test_cost_note_says_where_the_transformers_memory_stands():
    from model.rwkv import RWKVConfig

    tr = fixed_trace()  # RWKV holds 320 bytes (20·L·C) after every token
    cfg = RWKVConfig(vocab_size=8, n_layer=2, n_embd=8)
    notes = steps.cost_notes(tr, cfg, np.arange(1, 7) * 100)  # the cache: 100, 200, … bytes
    assert len(notes) == 6
    assert "It holds 320 bytes of memory (80 numbers): the same after every token." in notes[0]
    assert "holds less so far (100 bytes), but its memory grows with every token and passes RWKV's at token 4." in notes[0]
    assert notes[4].endswith("It holds 320 bytes of memory (80 numbers): exactly as much as for token 1.")
    assert "transformer" not in steps.cost_notes(tr, cfg)[0]  # without the cache's sizes, RWKV alone
