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


def test_byte_alphabet_is_the_tokenizers_own():
    from tokenizers import pre_tokenizers

    from model.tokenizer import BYTE_OF_CHAR

    assert set(BYTE_OF_CHAR) == set(pre_tokenizers.ByteLevel.alphabet()) and sorted(BYTE_OF_CHAR.values()) == list(range(256))


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_token_bytes_spell_the_text(tok, name):
    ids = tok.encode(SAMPLES[name])
    assert b"".join(tok.token_bytes(i) for i in ids) == SAMPLES[name].encode("utf-8")


def test_a_character_cut_over_tokens_shows_its_parts_not_replacement_marks(tok):
    from model.tokenizer import PART_MARK

    text = "I love pizza 🍕🍕 and 从前"
    ids = tok.encode(text)
    pieces = tok.pieces(ids)
    assert len(pieces) == len(ids) and "\ufffd" not in "".join(pieces)
    assert any("\ufffd" in tok.piece(i) for i in ids)  # alone, the same tokens are unreadable
    parts = [PART_MARK.search(p) for p in pieces]
    cut = [(p, m) for p, m in zip(pieces, parts) if m]
    assert cut and cut[0][0].startswith("🍕") and cut[0][1].group(1) == "1"
    # taking the marks out and keeping each character once gives the text back
    rebuilt = "".join(PART_MARK.sub("", p) if not m or m.group(1) == "1" else "" for p, m in zip(pieces, parts))
    assert rebuilt == text


def test_a_stray_byte_shows_as_a_replacement_mark(tok):
    pizza = tok.encode("🍕")
    assert len(pizza) > 1
    pieces = tok.pieces(pizza[1:])  # a text that starts inside a character (the model can write one)
    assert "".join(pieces).count("\ufffd") >= 1 and len(pieces) == len(pizza) - 1


def test_a_token_holding_the_end_of_one_character_and_more_separates_them(tok, monkeypatch):
    """Not in the shipped vocabulary, but a retrained one can cut so: "世" ends and "界" starts in one token."""
    chunks = [b"\xe4\xb8", b"\x96\xe7", b"\x95\x8c", b"\xe4\xb8", b"\x96a"]
    monkeypatch.setattr(tok, "token_bytes", lambda i: chunks[i])
    assert tok.pieces(range(5)) == ["世\u202f1/2", "世\u202f2/2·界\u202f1/2", "界\u202f2/2", "世\u202f1/2", "世\u202f2/2·a"]
