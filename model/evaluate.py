"""Validation loss (mean nats/token) and top-1 next-token accuracy.

Each story is scored from its start: the input is `<|endoftext|>` + story, the targets are the story
and the closing `<|endoftext|>`, cut at the model's trained context (`ctx_len`) so both architectures
are scored on the same tokens.

    python -m model.evaluate --arch rwkv --text FILE      # prints {"tokens": .., "loss": .., "top1": ..}
"""
from __future__ import annotations

import argparse
import json

import torch
import torch.nn.functional as F


def story_batches(stories_ids: list[list[int]], eot: int, ctx_len: int, batch_size: int):
    """Yield (inputs, targets, mask) tensors; each row one story, right-padded."""
    rows = []
    for ids in stories_ids:
        seq = ([eot] + list(ids) + [eot])[: ctx_len + 1]
        if len(seq) >= 2:
            rows.append(seq)
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
        T = max(len(r) for r in chunk) - 1
        inputs = torch.full((len(chunk), T), eot, dtype=torch.long)
        targets = torch.full((len(chunk), T), eot, dtype=torch.long)
        mask = torch.zeros((len(chunk), T), dtype=torch.bool)
        for i, r in enumerate(chunk):
            n = len(r) - 1
            inputs[i, :n] = torch.tensor(r[:-1])
            targets[i, :n] = torch.tensor(r[1:])
            mask[i, :n] = True
        yield inputs, targets, mask


def model_logits(model, arch: str, inputs: torch.Tensor) -> torch.Tensor:
    out = model(inputs)
    return out[0] if arch == "rwkv" else out


@torch.no_grad()
def evaluate_stories(model, arch: str, stories_ids: list[list[int]], eot: int, ctx_len: int, batch_size: int = 16) -> dict:
    model.eval()
    total_loss, total_correct, total_tokens = 0.0, 0, 0
    for inputs, targets, mask in story_batches(stories_ids, eot, ctx_len, batch_size):
        logits = model_logits(model, arch, inputs)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="none")
        m = mask.reshape(-1)
        total_loss += loss[m].sum().item()
        total_correct += (logits.argmax(-1).reshape(-1)[m] == targets.reshape(-1)[m]).sum().item()
        total_tokens += int(m.sum())
    n = max(total_tokens, 1)
    return {"tokens": total_tokens, "loss": total_loss / n, "top1": total_correct / n}


def main(argv=None) -> None:
    from .checkpoint import load_model
    from .data import split_stories
    from .tokenizer import load_tokenizer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", choices=["rwkv", "gpt"], default="rwkv")
    parser.add_argument("--text", required=True, help="UTF-8 file; stories separated by <|endoftext|> lines")
    parser.add_argument("--checkpoint", default=None, help="checkpoint stem or path (default: shipped model)")
    args = parser.parse_args(argv)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    model, meta = load_model(args.checkpoint or args.arch)
    tok = load_tokenizer()
    with open(args.text, encoding="utf-8") as f:
        stories = split_stories(f.read())
    ids = [tok.encode(s) for s in stories]
    print(json.dumps(evaluate_stories(model, meta["arch"], ids, tok.eot_id, model.cfg.ctx_len)))


if __name__ == "__main__":
    main()
