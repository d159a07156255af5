"""Continue a text with RWKV (recurrent state) or the baseline transformer (KV cache).

    python -m model.generate --arch rwkv --prompt "Once upon a time" --tokens 40 --greedy
    python -m model.generate --arch gpt  --prompt "" --tokens 60 --temperature 0.8 --seed 7
    python -m model.generate --arch rwkv --checkpoint RWKV-4-Pile-169M.pth --tokenizer 20B_tokenizer.json \
        --prompt "The capital of France is" --tokens 10 --greedy

Only the continuation is printed. An empty prompt starts a new story after `<|endoftext|>`.
Generation stops early when the model itself writes `<|endoftext|>` (unless `--no-stop`).

RWKV reads the prompt in the parallel form (one call, which returns the final state), then steps
one token at a time; the transformer steps through the prompt and the continuation with its KV cache.

Example:
    >>> from model.checkpoint import load_model                           # doctest: +SKIP
    >>> model, _ = load_model("rwkv")                                     # doctest: +SKIP
    >>> generate_ids(model, "rwkv", [1, 2, 3], 5)                         # doctest: +SKIP
    [17, 4, 88, 17, 9]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Iterator

import torch

from .checkpoint import CheckpointError, load_hf_rwkv, load_model, load_official_rwkv
from .tokenizer import TOKENIZER_PATH, BPETokenizer, load_tokenizer


def pick_token(logits: torch.Tensor, temperature: float | None = None,
               generator: torch.Generator | None = None) -> int:
    """Greedy (temperature None or 0) or a sample from softmax(logits / temperature).

    Example:
        >>> pick_token(torch.tensor([0.1, 2.0, -1.0]))
        1
    """
    if not temperature:
        return int(torch.argmax(logits))
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    return int(torch.multinomial(probs, 1, generator=generator))


@torch.inference_mode()
def iter_generate(model, arch: str, prompt_ids: list[int], n: int, temperature: float | None = None,
                  seed: int | None = None, stop_id: int | None = None) -> Iterator[int]:
    """Yield up to `n` new token ids after `prompt_ids` (non-empty); stops after yielding `stop_id`.

    Example:
        >>> from model.rwkv import RWKV, RWKVConfig
        >>> m = RWKV(RWKVConfig(vocab_size=16, n_layer=2, n_embd=8)).eval()
        >>> len(list(iter_generate(m, "rwkv", [1, 2], 4, temperature=1.0, seed=0)))
        4
    """
    if not prompt_ids:
        raise ValueError("prompt_ids must hold at least one token (use the end-of-text id for a new story)")
    if n <= 0:
        return
    generator = None
    if temperature:
        generator = torch.Generator()
        if seed is None:
            generator.seed()  # fresh, non-reproducible; leaves the global RNG alone
        else:
            generator.manual_seed(seed)
    if arch == "rwkv":
        device = model.emb.weight.device
        logits, state = model(torch.tensor([prompt_ids], dtype=torch.long, device=device))  # (1, T, V), (1, L, 5, C)
        logits, state = logits[0, -1], state[0]
        advance = model.step
    elif arch == "gpt":
        state = model.new_cache()  # updated in place by each step (fresh per call, never shared)
        for token in prompt_ids:
            logits, state = model.step(token, state)
        advance = model.step
    else:
        raise ValueError(f"unknown architecture {arch!r} (expected 'rwkv' or 'gpt')")
    for i in range(n):
        token = pick_token(logits, temperature, generator)
        yield token
        if token == stop_id or i == n - 1:
            return
        logits, state = advance(token, state)


def generate_ids(model, arch: str, prompt_ids: list[int], n: int, temperature: float | None = None,
                 seed: int | None = None, stop_id: int | None = None) -> list[int]:
    """List form of `iter_generate`: greedy when `temperature` is None/0, reproducible with `seed`.

    Example:
        >>> from model.gpt import GPT, GPTConfig
        >>> m = GPT(GPTConfig(vocab_size=16, n_layer=1, n_embd=8, n_head=2)).eval()
        >>> generate_ids(m, "gpt", [3], 3) == generate_ids(m, "gpt", [3], 3)
        True
    """
    return list(iter_generate(model, arch, prompt_ids, n, temperature, seed, stop_id))


def prompt_to_ids(tok: BPETokenizer, prompt: str) -> list[int]:
    """Token ids of the prompt; an empty prompt becomes [end-of-text] (start of a new story)."""
    ids = tok.encode(prompt) if prompt else []
    if not ids:
        ids = [tok.eot_id if tok.eot_id is not None else 0]
    return ids


def load_for_generation(arch: str, checkpoint: str | None, tokenizer: str | None):
    """(model, tokenizer) for the CLI. Official `.pth` or HF directories need an explicit tokenizer."""
    external = checkpoint is not None and (checkpoint.endswith(".pth") or Path(checkpoint).is_dir())
    if external:
        if not Path(checkpoint).exists():
            raise CheckpointError(f"checkpoint not found: {checkpoint}")
        if arch != "rwkv":
            raise CheckpointError("official .pth and Hugging Face checkpoints are RWKV-4 only: use --arch rwkv")
        if tokenizer is None:
            raise CheckpointError(
                f"{checkpoint} was trained with its own tokenizer: pass --tokenizer PATH to a Hugging Face "
                "tokenizers JSON (e.g. 20B_tokenizer.json for the RWKV-4 Pile models)"
            )
        model = load_official_rwkv(checkpoint) if checkpoint.endswith(".pth") else load_hf_rwkv(checkpoint)
    else:
        model, meta = load_model(checkpoint or arch)
        if meta["arch"] != arch:
            raise CheckpointError(f"{checkpoint} is a {meta['arch']} checkpoint, not {arch}")
    tok_path = Path(tokenizer) if tokenizer else TOKENIZER_PATH
    if not tok_path.is_file():
        raise CheckpointError(f"tokenizer not found: {tok_path}")
    tok = load_tokenizer(tok_path)
    if tok.vocab_size > model.cfg.vocab_size:
        raise CheckpointError(f"tokenizer has {tok.vocab_size} tokens but the model only {model.cfg.vocab_size}: wrong tokenizer?")
    return model.eval(), tok


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Continue a text with the shipped RWKV or transformer.")
    parser.add_argument("--arch", choices=["rwkv", "gpt"], default="rwkv")
    parser.add_argument("--prompt", default="", help="text to continue; empty starts a new story")
    parser.add_argument("--tokens", type=int, default=50, help="at most this many new tokens")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--greedy", action="store_true", help="always the most likely token (default)")
    mode.add_argument("--temperature", type=float, default=None, help="sample from softmax(logits / T)")
    parser.add_argument("--seed", type=int, default=None, help="makes sampling reproducible")
    parser.add_argument("--checkpoint", default=None,
                        help="our checkpoint stem, an official RWKV-4 .pth, or a Hugging Face RWKV directory")
    parser.add_argument("--tokenizer", default=None, help="tokenizers JSON (required for .pth / HF checkpoints)")
    parser.add_argument("--no-stop", action="store_true", help="keep going past <|endoftext|>")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.tokens < 0:
        parser.error("--tokens must be ≥ 0")
    if args.temperature is not None and args.temperature <= 0:
        parser.error("--temperature must be > 0 (use --greedy for the most likely token)")
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        model, tok = load_for_generation(args.arch, args.checkpoint, args.tokenizer)
    except CheckpointError as exc:
        parser.exit(2, f"error: {exc}\n")
    ids = prompt_to_ids(tok, args.prompt)
    stop = None if args.no_stop else tok.eot_id
    out = generate_ids(model, args.arch, ids, args.tokens, args.temperature, args.seed, stop)
    if out and out[-1] == stop:
        out = out[:-1]
    sys.stdout.write(tok.decode(out) + "\n")


if __name__ == "__main__":
    main()
