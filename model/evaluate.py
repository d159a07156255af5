"""Validation loss (mean nats/token) and top-1 next-token accuracy.

Each story is scored from its start: the input is `<|endoftext|>` + story, the targets are the story
and the closing `<|endoftext|>`, cut at the model's trained context (`ctx_len`) so both architectures
are scored on the same tokens.

`loss_by_position` instead reads long runs of stories back to back and reports the mean loss per
range of positions: it shows how the transformer degrades past its trained context (its rotary
positions let it run, but it never saw those distances), while RWKV's state has no position.

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


def _model_device(model) -> torch.device:
    try:
        return next(model.parameters()).device
    except StopIteration:
        return torch.device("cpu")


@torch.no_grad()
def evaluate_stories(model, arch: str, stories_ids: list[list[int]], eot: int, ctx_len: int, batch_size: int = 16,
                     device: str | torch.device | None = None) -> dict:
    """{"tokens", "loss", "top1"} over the stories; batches go to `device` (default: the model's)."""
    model.eval()
    device = torch.device(device) if device is not None else _model_device(model)
    total_loss, total_correct, total_tokens = 0.0, 0, 0
    for inputs, targets, mask in story_batches(stories_ids, eot, ctx_len, batch_size):
        if device.type != "cpu":
            inputs, targets, mask = inputs.to(device), targets.to(device), mask.to(device)
        logits = model_logits(model, arch, inputs)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="none")
        m = mask.reshape(-1)
        total_loss += loss[m].sum().item()
        total_correct += (logits.argmax(-1).reshape(-1)[m] == targets.reshape(-1)[m]).sum().item()
        total_tokens += int(m.sum())
    n = max(total_tokens, 1)
    return {"tokens": total_tokens, "loss": total_loss / n, "top1": total_correct / n}


DEFAULT_BUCKETS = ((0, 256), (256, 512), (512, 1024))


def long_sequences(stories_ids: list[list[int]], eot: int, max_len: int,
                   max_sequences: int | None = None) -> list[list[int]]:
    """The stories back to back (`<|endoftext|>` before each, as in training), cut into
    non-overlapping runs of `max_len + 1` tokens (inputs and shifted targets); the remainder is dropped."""
    stream: list[int] = []
    for ids in stories_ids:
        stream.append(eot)
        stream.extend(ids)
    n = len(stream) // (max_len + 1)
    if max_sequences is not None:
        n = min(n, max_sequences)
    return [stream[i * (max_len + 1) : (i + 1) * (max_len + 1)] for i in range(n)]


@torch.no_grad()
def loss_by_position(model, arch: str, stories_ids: list[list[int]], eot: int, max_len: int,
                     buckets=DEFAULT_BUCKETS, max_sequences: int | None = None) -> list[dict]:
    """Mean next-token loss per range of positions, over runs of `max_len` tokens read in one call.

    The stories are joined (EOT-separated) and cut into as many runs of `max_len` input tokens as
    they fill (at most `max_sequences`); each run goes through the model once in parallel form.
    Position p is the prediction of token p + 1 from tokens 0..p; bucket (a, b) averages a ≤ p < b.
    Returns [{"from", "to", "tokens", "loss"}] in bucket order; "loss" is None for an empty bucket.

    Example:
        >>> from model.gpt import GPT, GPTConfig
        >>> m = GPT(GPTConfig(vocab_size=16, n_layer=1, n_embd=8, n_head=2, ctx_len=4))
        >>> rows = loss_by_position(m, "gpt", [[1, 2, 3]] * 10, 0, 8, buckets=((0, 4), (4, 8)))
        >>> [(r["from"], r["to"], r["tokens"]) for r in rows]
        [(0, 4, 16), (4, 8, 16)]
    """
    if max_len < 1:
        raise ValueError("max_len must be at least 1")
    seqs = long_sequences(stories_ids, eot, max_len, max_sequences)
    if not seqs:
        total = sum(len(s) + 1 for s in stories_ids)
        raise ValueError(f"the stories hold {total} tokens: not enough for one run of {max_len + 1}")
    model.eval()
    device = _model_device(model)
    sums = torch.zeros(max_len, dtype=torch.float64)
    for seq in seqs:
        t = torch.tensor([seq], dtype=torch.long, device=device)
        logits = model_logits(model, arch, t[:, :-1])[0]  # (max_len, V)
        loss = F.cross_entropy(logits.float(), t[0, 1:], reduction="none")
        sums += loss.double().cpu()
    out = []
    for lo, hi in buckets:
        a, b = max(0, int(lo)), min(int(hi), max_len)
        count = max(0, b - a) * len(seqs)
        value = float(sums[a:b].sum()) / count if count else None
        out.append({"from": int(lo), "to": int(hi), "tokens": count, "loss": value})
    return out


def main(argv=None) -> None:
    from .checkpoint import CheckpointError, load_model
    from .data import split_stories
    from .tokenizer import load_tokenizer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", choices=["rwkv", "gpt"], default="rwkv")
    parser.add_argument("--text", required=True, help="UTF-8 file; stories separated by <|endoftext|> lines")
    parser.add_argument("--checkpoint", default=None, help="checkpoint stem or path (default: shipped model)")
    args = parser.parse_args(argv)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    try:
        with open(args.text, encoding="utf-8") as f:
            stories = split_stories(f.read())
    except FileNotFoundError:
        parser.exit(2, f"error: text file not found: {args.text}\n")
    except IsADirectoryError:
        parser.exit(2, f"error: {args.text} is a directory, not a text file\n")
    except UnicodeDecodeError as exc:
        parser.exit(2, f"error: {args.text} is not UTF-8 text ({exc.reason} at byte {exc.start})\n")
    except OSError as exc:
        parser.exit(2, f"error: cannot read {args.text}: {exc.strerror or exc}\n")
    if not stories:
        parser.exit(2, f"error: {args.text} holds no stories\n")
    try:
        model, meta = load_model(args.checkpoint or args.arch)
    except CheckpointError as exc:
        parser.exit(2, f"error: {exc}\n")
    tok = load_tokenizer()
    ids = [tok.encode(s) for s in stories]
    print(json.dumps(evaluate_stories(model, meta["arch"], ids, tok.eot_id, model.cfg.ctx_len)))


if __name__ == "__main__":
    main()
