"""Corpus reading and the one fixed train/validation split.

The corpus is a UTF-8 text file whose stories are separated by lines holding only `<|endoftext|>`
(the TinyStories format). The split is defined here, once, by story index: every 20th story
(index % 20 == 0) is validation, the rest is training.

Example:
    >>> stories = split_stories("Once.\\n<|endoftext|>\\nTwice.\\n<|endoftext|>\\n")
    >>> stories
    ['Once.', 'Twice.']
"""
from __future__ import annotations

import os
from pathlib import Path

EOT = "<|endoftext|>"
VALIDATION_EVERY = 20
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = REPO_ROOT.parent / "shared" / "corpus" / "tinystories.txt"


def split_stories(text: str) -> list[str]:
    """Split corpus text on `<|endoftext|>` lines; strip and drop empty stories."""
    parts = text.replace("\r\n", "\n").split(EOT)
    return [p.strip("\n") for p in parts if p.strip()]


def is_validation(story_index: int) -> bool:
    return story_index % VALIDATION_EVERY == 0


def train_val_stories(stories: list[str]) -> tuple[list[str], list[str]]:
    train = [s for i, s in enumerate(stories) if not is_validation(i)]
    val = [s for i, s in enumerate(stories) if is_validation(i)]
    return train, val


def read_corpus(source: str | os.PathLike | None = None) -> list[str]:
    """Stories from a local UTF-8 file, or `hf:NAME` through the `datasets` library (needs internet).

    `None` reads the project corpus in ../shared/corpus/. A file without any `<|endoftext|>`
    line is split on blank lines instead, so any plain text works.
    """
    if source is None:
        source = os.environ.get("RWKV_EXPLAINER_CORPUS", str(DEFAULT_CORPUS))
    source = str(source)
    if source.startswith("hf:"):
        return _read_hf_dataset(source[3:])
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"corpus file not found: {path}")
    text = path.read_text(encoding="utf-8")
    if EOT in text:
        return split_stories(text)
    return [p.strip() for p in text.split("\n\n") if p.strip()]


def _read_hf_dataset(name: str, split: str = "train", limit: int = 200_000) -> list[str]:
    try:
        import datasets  # optional extra, not installed in CI
    except ImportError as exc:  # pragma: no cover - depends on an optional extra
        raise RuntimeError("`--corpus hf:NAME` needs `pip install datasets` and internet access") from exc
    ds = datasets.load_dataset(name, split=split)  # pragma: no cover
    column = "text" if "text" in ds.column_names else ds.column_names[0]  # pragma: no cover
    return [str(row[column]).strip() for row in ds.select(range(min(limit, len(ds))))]  # pragma: no cover
