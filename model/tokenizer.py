"""Byte-level BPE tokenizer (Hugging Face `tokenizers`), trained on the corpus.

Byte-level means every Unicode string maps to bytes first, so encode → decode is lossless for any
text (emoji, CJK, right-to-left, control characters). `<|endoftext|>` is a special token that
separates stories.

Example:
    >>> tok = load_tokenizer()            # model/weights/tokenizer.json
    >>> ids = tok.encode("Once upon a time")
    >>> tok.decode(ids)
    'Once upon a time'
"""
from __future__ import annotations

import re
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from .data import EOT

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
TOKENIZER_PATH = WEIGHTS_DIR / "tokenizer.json"
PART_MARK = re.compile("\u202f(\\d+)/(\\d+)")  # "🍕 2/4": part 2 of a character cut over 4 tokens (`pieces`)
_ENDS_WITH_PART = re.compile(PART_MARK.pattern + "$")


class BPETokenizer:
    """Thin wrapper: `encode(str) -> list[int]`, `decode(list[int]) -> str`, `piece(id) -> str`."""

    def __init__(self, tokenizer: Tokenizer):
        self._tok = tokenizer
        self.eot_id = tokenizer.token_to_id(EOT)
        self.vocab_size = tokenizer.get_vocab_size()

    @classmethod
    def from_file(cls, path: str | Path) -> "BPETokenizer":
        return cls(Tokenizer.from_file(str(path)))

    def encode(self, text: str) -> list[int]:
        return self._tok.encode(text).ids

    def decode(self, ids) -> str:
        return self._tok.decode([int(i) for i in ids], skip_special_tokens=False)

    def piece(self, token_id: int) -> str:
        """The text of one token on its own (part of a multi-byte character shows as U+FFFD)."""
        return self.decode([token_id])

    def token_bytes(self, token_id: int) -> bytes:
        """The bytes one token stands for (a special token: its text)."""
        name = self._tok.id_to_token(int(token_id))
        if int(token_id) == self.eot_id or name is None:
            return self.piece(token_id).encode("utf-8")
        return bytes(BYTE_OF_CHAR[ch] for ch in name)

    def pieces(self, ids) -> list[str]:
        """Each token's text as read in its sequence. A character whose bytes are split over several tokens
        (an emoji takes 4 bytes; this vocabulary often cuts it) shows in each of them with its part, e.g.
        "🍕 1/4" … "🍕 4/4", instead of four "�". Plain text is exactly `piece` per token.

        >>> tok.pieces(tok.encode("a 🍕"))    # doctest: +SKIP
        ['a', ' ', '🍕\u202f1/4', '🍕\u202f2/4', '🍕\u202f3/4', '🍕\u202f4/4']
        """
        raw = [self.token_bytes(i) for i in ids]
        owner = [k for k, chunk in enumerate(raw) for _ in chunk]  # which token holds each byte
        data = b"".join(raw)
        labels = [""] * len(raw)
        pos = 0
        while pos < len(data):
            size = _utf8_length(data[pos])
            char = _one_char(data[pos:pos + size], size)
            if char is None:  # a stray byte (text the model wrote can hold some): U+FFFD, one per byte
                char, size = "\ufffd", 1
            holders = list(dict.fromkeys(owner[pos:pos + size]))
            for part, k in enumerate(holders, 1):
                # narrow no-break space: one chip, one line; "·" between a part and what else the token holds
                piece = char if len(holders) == 1 else f"{char}\u202f{part}/{len(holders)}"
                after_part = _ENDS_WITH_PART.search(labels[k]) is not None
                labels[k] += ("·" if labels[k] and (len(holders) > 1 or after_part) else "") + piece
            pos += size
        return labels

    def save(self, path: str | Path) -> None:
        self._tok.save(str(path))


def _byte_of_char() -> dict[str, int]:
    """The byte-level alphabet (GPT-2's): printable Latin-1 bytes stand for themselves, the other 68 bytes
    for the characters from U+0100 on, in byte order. A token's name spells its bytes in these characters."""
    kept = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    moved = [b for b in range(256) if b not in kept]
    return {**{chr(b): b for b in kept}, **{chr(256 + n): b for n, b in enumerate(moved)}}


BYTE_OF_CHAR = _byte_of_char()


def _utf8_length(lead: int) -> int:
    """Bytes in the UTF-8 character that starts with `lead` (1 for a byte that cannot start one)."""
    return 2 if 0xC2 <= lead <= 0xDF else 3 if 0xE0 <= lead <= 0xEF else 4 if 0xF0 <= lead <= 0xF4 else 1


def _one_char(chunk: bytes, size: int) -> str | None:
    """`chunk` as the one character it encodes, or None (cut short by the end of the text, or not UTF-8)."""
    if len(chunk) != size:
        return None
    try:
        return chunk.decode("utf-8")
    except UnicodeDecodeError:
        return None


def train_tokenizer(stories: list[str], vocab_size: int = 4096) -> BPETokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[EOT],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(stories, trainer=trainer)
    return BPETokenizer(tok)


def load_tokenizer(path: str | Path = TOKENIZER_PATH) -> BPETokenizer:
    return BPETokenizer.from_file(path)


if __name__ == "__main__":
    import argparse

    from .data import read_corpus, train_val_stories

    parser = argparse.ArgumentParser(description="Train the byte-level BPE tokenizer.")
    parser.add_argument("--corpus", default=None)
    parser.add_argument("--vocab", type=int, default=4096)
    parser.add_argument("--out", default=str(TOKENIZER_PATH))
    args = parser.parse_args()
    train, _ = train_val_stories(read_corpus(args.corpus))
    tok = train_tokenizer(train, args.vocab)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    tok.save(args.out)
    print(f"saved {args.out} with {tok.vocab_size} tokens")
