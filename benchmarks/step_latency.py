"""Per-token latency of our recurrent RWKV step against the `rwkv` pip package, on the same weights.

    python -m benchmarks.step_latency            # ~1-2 minutes on 2 cores
    python -m benchmarks.step_latency --quick    # fewer repetitions, no 169M prompt row

Shapes: the shipped model (random weights of the shipped shape if the weights are not there yet)
and the RWKV-4 169M shape (12 layers × 768, vocabulary 50,277; random weights built directly as an
official-format dict). Both implementations run in fp32 on the CPU with 2 threads. Each repetition
times ours and the reference back to back, alternating which goes first; the table shows medians.

Rows: `fast` = `RWKV.step(token, state)`; `traced` = `RWKV.step(..., trace=True)`; `prompt256` =
reading a 256-token prompt in the parallel form `model(idx)` against the package's sequence mode
(`forward(tokens, None, full_output=True)`, so both produce all 256 logits).
The last line is `RESULT fast_shipped=<ours/ref> fast_169m=<ours/ref> traced_shipped=<ours/ref>`.

Example:
    >>> sd = random_official_dict(2, 32, 64)
    >>> tuple(sd["blocks.1.att.time_mix_k"].shape)
    (1, 1, 32)
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch

os.environ["RWKV_JIT_ON"] = "0"  # must precede the package import
os.environ["RWKV_CUDA_ON"] = "0"

from model.checkpoint import WEIGHTS_DIR, load_model, official_state_dict, rwkv_from_official_dict  # noqa: E402
from model.train import PRESETS  # noqa: E402

SHAPE_169M = (12, 768, 50277)


@torch.no_grad()
def random_official_dict(n_layer: int, n_embd: int, vocab: int, seed: int = 0) -> dict:
    """Official RWKV-4 layout, random but well-scaled weights (fp32), without building a model."""
    g = torch.Generator().manual_seed(seed)
    C, F = n_embd, 4 * n_embd

    def mat(out_f, in_f):
        return torch.randn(out_f, in_f, generator=g) / math.sqrt(in_f)

    def mix():
        return torch.rand(1, 1, C, generator=g)

    ch = torch.arange(C, dtype=torch.float32)
    sd = {"emb.weight": torch.randn(vocab, C, generator=g) * 1e-2,
          "blocks.0.ln0.weight": torch.ones(C), "blocks.0.ln0.bias": torch.zeros(C)}
    for i in range(n_layer):
        b = f"blocks.{i}."
        sd.update({b + "ln1.weight": torch.ones(C), b + "ln1.bias": torch.zeros(C),
                   b + "ln2.weight": torch.ones(C), b + "ln2.bias": torch.zeros(C)})
        sd.update({b + "att.time_decay": -5 + 8 * (ch / (C - 1)) ** 0.7, b + "att.time_first": torch.full((C,), math.log(0.3)),
                   b + "att.time_mix_k": mix(), b + "att.time_mix_v": mix(), b + "att.time_mix_r": mix(),
                   b + "att.key.weight": mat(C, C), b + "att.value.weight": mat(C, C),
                   b + "att.receptance.weight": mat(C, C), b + "att.output.weight": mat(C, C),
                   b + "ffn.time_mix_k": mix(), b + "ffn.time_mix_r": mix(),
                   b + "ffn.key.weight": mat(F, C), b + "ffn.receptance.weight": mat(C, C),
                   b + "ffn.value.weight": mat(C, F)})
    sd.update({"ln_out.weight": torch.ones(C), "ln_out.bias": torch.zeros(C), "head.weight": mat(vocab, C)})
    return sd


def reference_model(sd: dict, tmpdir: str, name: str):
    """The `rwkv` package's model for an official dict (written to a temporary .pth)."""
    from rwkv.model import RWKV as PipRWKV

    path = Path(tmpdir) / f"{name}.pth"
    torch.save(sd, path)
    return PipRWKV(model=str(path)[: -len(".pth")], strategy="cpu fp32", verbose=False)


def time_per_token(fn, tokens: list[int]) -> float:
    """Seconds per token for `fn(token)` over `tokens`."""
    start = time.perf_counter()
    for t in tokens:
        fn(t)
    return (time.perf_counter() - start) / len(tokens)


def interleaved(ours_fn, ref_fn, tokens: list[int], reps: int) -> tuple[float, float]:
    """Median per-token seconds (ours, reference); alternates which runs first in each repetition."""
    ours, ref = [], []
    for r in range(reps):
        pair = [(ours_fn, ours), (ref_fn, ref)]
        for fn, bucket in (pair if r % 2 == 0 else pair[::-1]):
            bucket.append(time_per_token(fn, tokens))
    return statistics.median(ours), statistics.median(ref)


def steppers(model, pip_model):
    """Three closures that each advance their own state by one token (the package's state in place)."""
    box = {"ours": model.new_state(), "traced": model.new_state(), "ref": None}

    def ours(t):
        _, box["ours"] = model.step(t, box["ours"])

    def traced(t):
        _, box["traced"], _ = model.step(t, box["traced"], trace=True)

    def ref(t):
        _, box["ref"] = pip_model.forward([t], box["ref"])

    return ours, traced, ref


def bench_shape(label: str, model, pip_model, reps: int, n_tokens: int, prompt_reps: int) -> list[tuple]:
    V = model.cfg.vocab_size
    tokens = torch.randint(0, V, (n_tokens,), generator=torch.Generator().manual_seed(1)).tolist()
    ours, traced, ref = steppers(model, pip_model)
    for t in tokens[:3]:  # warm-up
        ours(t), traced(t), ref(t)
    rows = []
    o, r = interleaved(ours, ref, tokens, reps)
    rows.append((label, "fast step", o, r))
    o, r = interleaved(traced, ref, tokens, reps)
    rows.append((label, "traced step", o, r))
    if prompt_reps:
        prompt = torch.randint(0, V, (256,), generator=torch.Generator().manual_seed(2)).tolist()
        idx = torch.tensor([prompt])

        def ours_prompt(_):
            with torch.inference_mode():
                model(idx)

        def ref_prompt(_):
            pip_model.forward(prompt, None, full_output=True)

        o, r = interleaved(ours_prompt, ref_prompt, [0], prompt_reps)
        rows.append((label, "prompt256 (parallel)", o, r))
    return rows


def shipped_model(force_random: bool = False):
    if not force_random and (WEIGHTS_DIR / "rwkv.safetensors").is_file() and (WEIGHTS_DIR / "rwkv.json").is_file():
        model, _ = load_model("rwkv")
        return model, official_state_dict(model), "shipped"
    p = PRESETS["cpu"]
    sd = random_official_dict(p.n_layer, p.n_embd, 4096, seed=3)
    return rwkv_from_official_dict(sd), sd, "shipped shape, random (weights not found)"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (~4x faster)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-169m", action="store_true", help="only the shipped shape")
    parser.add_argument("--random-shipped", action="store_true",
                        help="random weights of the shipped preset's shape even if the weights exist")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    reps_small, toks_small, reps_big, toks_big = (7, 32, 3, 4) if args.quick else (21, 64, 7, 8)
    prompt_small, prompt_big = (3, 0) if args.quick else (5, 2)  # 169M prompt: ~10 s each on 2 busy cores
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        model, sd, note = shipped_model(args.random_shipped)
        c = model.cfg
        print(f"shipped: {c.n_layer} layers × {c.n_embd}, vocab {c.vocab_size} ({note}); threads {torch.get_num_threads()}")
        rows += bench_shape("shipped", model, reference_model(sd, tmp, "shipped"), reps_small, toks_small, prompt_small)
        del model, sd
        if not args.skip_169m:
            sd = random_official_dict(*SHAPE_169M, seed=4)
            model = rwkv_from_official_dict(sd)
            pip_model = reference_model(sd, tmp, "r169m")
            del sd
            rows += bench_shape("169m", model, pip_model, reps_big, toks_big, prompt_big)
            del model, pip_model
    print(f"{'shape':<8} {'what':<22} {'ours ms':>9} {'rwkv pkg ms':>12} {'ours/ref':>9}")
    for label, what, o, r in rows:
        print(f"{label:<8} {what:<22} {o * 1e3:9.3f} {r * 1e3:12.3f} {o / r:9.2f}")
    ratio = {(label, what): o / r for label, what, o, r in rows}
    big = ratio.get(("169m", "fast step"), float("nan"))
    print(f"RESULT fast_shipped={ratio[('shipped', 'fast step')]:.2f} fast_169m={big:.2f} "
          f"traced_shipped={ratio[('shipped', 'traced step')]:.2f}")


if __name__ == "__main__":
    main()
