"""The byte-level BPE tokenizer is lossless on any text, and `<|endoftext|>` is one special token."""
from __future__ import annotations

import pytest

from model.data import EOT
from model.tokenizer import TOKENIZER_PATH, load_tokenizer, train_tokenizer

SAMPLES = {
    "plain": "Once upon a time, there was a little girl named Lily.",
    "emoji": "The cat 🐈 saw a 🌈 and said 👋🏽! Family: 👨‍👩‍👧‍👦",
    "cjk": "从前有一只小猫。昔々、小さな猫がいました。옛날에 작은 고양이가 있었어요.",
    "rtl": "كان يا ما كان قطة صغيرة. היה היה חתול קטן. \u202eevil\u202c",
    "control": "tab\there\nnew line\r\nbell\x07 null\x00 esc\x1b[0m del\x7f",
    "combining": "e\u0301 vs é, ﬁ ligature, zero\u200bwidth, nbsp\u00a0",
    "empty": "",
    "spaces": "   leading and trailing   ",
    "eot": f"The end.{EOT}A new story.",
}


@pytest.fixture(scope="module")
def tok():
    if not TOKENIZER_PATH.is_file():
        pytest.fail(f"shipped tokenizer {TOKENIZER_PATH} missing: run python -m model.tokenizer")
    return load_tokenizer()


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_round_trip(tok, name):
    text = SAMPLES[name]
    ids = tok.encode(text)
    assert tok.decode(ids) == text
    assert all(0 <= i < tok.vocab_size for i in ids)
    assert (ids == []) == (text == "")


def test_endoftext_is_a_single_special_token(tok):
    assert tok.eot_id is not None
    ids = tok.encode(SAMPLES["eot"])
    assert ids.count(tok.eot_id) == 1
    assert tok.encode(EOT) == [tok.eot_id]
    assert tok.piece(tok.eot_id) == EOT


def test_pieces_join_back_for_ascii(tok):
    ids = tok.encode(SAMPLES["plain"])
    assert "".join(tok.pieces(ids)) == SAMPLES["plain"]


def test_freshly_trained_tokenizer_is_lossless_on_unseen_scripts():
    tok = train_tokenizer(["a small cat sat on a mat"] * 20, vocab_size=300)
    for text in SAMPLES.values():
        assert tok.decode(tok.encode(text)) == text
