"""Train the shipped models (or your own) on a text corpus.

    python -m model.train --arch rwkv --preset cpu                  # the shipped RWKV (2 CPU cores)
    python -m model.train --arch gpt  --preset cpu                  # the same-size transformer
    python -m model.train --arch rwkv --preset tiny --corpus my.txt --out /tmp/mine
    python -m model.train --arch rwkv --preset gpu --corpus hf:roneneldan/TinyStories   # internet, GPU

Both architectures see the same token stream (same seed, same windows) for the same number of
tokens. Optimiser: Adam (β = 0.9, 0.99, ε = 1e-8, no weight decay), as RWKV-LM; learning rate: a
linear warm-up, then the exponential decay from lr_init to lr_final that RWKV-LM uses. RWKV starts
from the official v4neo initialisation (`RWKV.init_official`).

`--device` (default: `cuda` when available, else `cpu`) holds the model, the batches and the
final validation; the checkpoint is always written from CPU copies of the weights.
"""
from __future__ import annotations

import argparse
import math
import random
import time
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F

from .checkpoint import WEIGHTS_DIR, save_model
from .data import read_corpus, train_val_stories
from .evaluate import evaluate_stories
from .gpt import GPT, GPTConfig
from .rwkv import RWKV, RWKVConfig
from .tokenizer import TOKENIZER_PATH, load_tokenizer


@dataclass(frozen=True)
class Preset:
    n_layer: int
    n_embd: int
    n_head: int  # transformer only
    ctx_len: int
    batch_size: int
    tokens: int  # training tokens
    lr_init: float
    lr_final: float
    warmup_steps: int
    val_stories: int  # validation stories scored at the end (0 = all)


PRESETS = {
    # RWKV ~17 min on a quiet 2-core machine (3,200 tokens/s with 2 threads); the transformer is faster
    "cpu": Preset(4, 192, 3, 256, 16, 3_200_000, 2e-3, 1e-4, 50, 0),
    # a larger model for a lent GPU
    "gpu": Preset(8, 512, 8, 512, 32, 100_000_000, 1e-3, 5e-5, 300, 0),
    # seconds, for tests and smoke runs
    "tiny": Preset(2, 32, 2, 32, 4, 4 * 32 * 30, 3e-3, 1e-3, 3, 32),
}


def model_for(arch: str, preset: Preset, vocab_size: int):
    if arch == "rwkv":
        cfg = RWKVConfig(vocab_size=vocab_size, n_layer=preset.n_layer, n_embd=preset.n_embd, ctx_len=preset.ctx_len)
        return RWKV(cfg).init_official()
    cfg = GPTConfig(vocab_size=vocab_size, n_layer=preset.n_layer, n_embd=preset.n_embd, n_head=preset.n_head, ctx_len=preset.ctx_len)
    return GPT(cfg)


def lr_at(step: int, total_steps: int, p: Preset) -> float:
    if step < p.warmup_steps:
        return p.lr_init * (step + 1) / p.warmup_steps
    progress = (step - p.warmup_steps) / max(1, total_steps - p.warmup_steps)
    return p.lr_init * math.exp(math.log(p.lr_final / p.lr_init) * min(1.0, progress))


def token_stream(stories_ids: list[list[int]], eot: int) -> np.ndarray:
    """One stream: `<|endoftext|>` before every story, so each story starts as generation does."""
    total = sum(len(s) + 1 for s in stories_ids)
    out = np.empty(total, dtype=np.int64)
    pos = 0
    for ids in stories_ids:
        out[pos] = eot
        out[pos + 1 : pos + 1 + len(ids)] = ids
        pos += len(ids) + 1
    return out


def batch_at(stream: np.ndarray, rng: np.random.Generator, batch_size: int, ctx_len: int, device=None):
    starts = rng.integers(0, len(stream) - ctx_len - 1, size=batch_size)
    rows = np.stack([stream[s : s + ctx_len + 1] for s in starts])
    t = torch.from_numpy(rows)
    if device is not None and torch.device(device).type != "cpu":
        t = t.to(device, non_blocking=True)
    return t[:, :-1], t[:, 1:]


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def train(arch: str, preset: Preset, corpus=None, out_stem=None, seed: int = 1234, threads: int | None = None,
          progress: bool = True, tokenizer_path=TOKENIZER_PATH, device: str | torch.device = "cpu") -> dict:
    """Train one model; `device` holds the model and batches (the saved checkpoint is CPU tensors)."""
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {device} requested but CUDA is not available")
    if threads:
        torch.set_num_threads(threads)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    tok = load_tokenizer(tokenizer_path)
    stories = read_corpus(corpus)
    train_stories, val_stories = train_val_stories(stories)
    if preset.val_stories:
        val_stories = val_stories[: preset.val_stories]
    stream = token_stream([tok.encode(s) for s in train_stories], tok.eot_id)
    val_ids = [tok.encode(s) for s in val_stories]
    model = model_for(arch, preset, tok.vocab_size).to(device)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=preset.lr_init, betas=(0.9, 0.99), eps=1e-8)
    tokens_per_step = preset.batch_size * preset.ctx_len
    total_steps = max(1, preset.tokens // tokens_per_step)
    rng = np.random.default_rng(seed)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=total_steps * tokens_per_step, unit="tok", unit_scale=True, desc=f"{arch}", mininterval=2)
    start = time.time()
    ema = None
    first_loss = None
    for step in range(total_steps):
        for group in opt.param_groups:
            group["lr"] = lr_at(step, total_steps, preset)
        x, y = batch_at(stream, rng, preset.batch_size, preset.ctx_len, device)
        logits = model(x)[0] if arch == "rwkv" else model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        value = loss.item()
        first_loss = value if first_loss is None else first_loss
        ema = value if ema is None else 0.98 * ema + 0.02 * value
        if bar is not None:
            bar.update(tokens_per_step)
            if step % 10 == 0:
                bar.set_postfix(loss=f"{ema:.3f}", lr=f"{opt.param_groups[0]['lr']:.1e}")
    if bar is not None:
        bar.close()
    minutes = (time.time() - start) / 60
    if arch == "rwkv":
        model.invalidate_cache()
    val = evaluate_stories(model, arch, val_ids, tok.eot_id, preset.ctx_len, device=device)
    record = {
        "training": {
            "preset": {k: getattr(preset, k) for k in preset.__dataclass_fields__},
            "seed": seed,
            "threads": torch.get_num_threads(),
            **({"device": str(device)} if device.type != "cpu" else {}),
            "steps": total_steps,
            "tokens_seen": total_steps * tokens_per_step,
            "corpus_tokens": int(len(stream)),
            "minutes": round(minutes, 2),
            "first_loss": first_loss,
            "final_loss_ema": ema,
        },
        "validation": {"stories": len(val_ids), **val},
    }
    if out_stem is not None:
        save_model(model.eval(), arch, out_stem, record)
    return {"model": model, **record}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Train RWKV-4 or the baseline transformer.")
    parser.add_argument("--arch", choices=["rwkv", "gpt"], required=True)
    parser.add_argument("--preset", choices=sorted(PRESETS), default="cpu")
    parser.add_argument("--corpus", default=None, help="UTF-8 text file, or hf:NAME (needs `datasets` and internet)")
    parser.add_argument("--out", default=None, help="output stem (default model/weights/<arch>)")
    parser.add_argument("--tokens", type=int, default=None, help="override the preset's training tokens")
    parser.add_argument("--lr-init", type=float, default=None, help="override the preset's peak learning rate")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--device", default=None,
                        help="torch device for training and validation (default: cuda if available, else cpu)")
    args = parser.parse_args(argv)
    device = args.device or default_device()
    if torch.device(device).type == "cuda" and not torch.cuda.is_available():
        parser.error(f"--device {device}: CUDA is not available on this machine")
    preset = PRESETS[args.preset]
    if args.tokens:
        preset = replace(preset, tokens=args.tokens)
    if args.lr_init:
        preset = replace(preset, lr_init=args.lr_init)
    out = args.out or str(WEIGHTS_DIR / args.arch)
    result = train(args.arch, preset, args.corpus, out, args.seed, args.threads, device=device)
    print(f"saved {out}.safetensors; validation {result['validation']}; {result['training']['minutes']} min")


if __name__ == "__main__":
    main()
