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

from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from .data import EOT

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
TOKENIZER_PATH = WEIGHTS_DIR / "tokenizer.json"


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
        """The text of one token (may be part of a multi-byte character: shown with U+FFFD)."""
        return self.decode([token_id])

    def pieces(self, ids) -> list[str]:
        return [self.piece(i) for i in ids]

    def save(self, path: str | Path) -> None:
        self._tok.save(str(path))


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
