"""Write the shipped (or any of our) RWKV checkpoints in the official RWKV-4 `.pth` layout.

The output is `torch.save` of a plain dict of tensors with BlinkDL's key names and shapes
(`time_mix_*` as [1,1,C], raw `time_decay`, `blocks.0.ln0.*`), so ChatRWKV, the `rwkv` pip package
and `load_official_rwkv` can read it.

    python -m model.export_official out/rwkv-explainer.pth                  # shipped model, fp32
    python -m model.export_official out/mine.pth --checkpoint /tmp/mine --dtype bf16

Example:
    >>> from model.export_official import export_official
    >>> path = export_official("/tmp/x.pth")                               # doctest: +SKIP
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from .checkpoint import CheckpointError, load_model, official_state_dict

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def export_official(out_path: str | Path, checkpoint: str | Path = "rwkv", dtype: str = "fp32") -> Path:
    """Load one of our RWKV checkpoints and `torch.save` it in the official layout; returns the path."""
    model, meta = load_model(checkpoint)
    if meta["arch"] != "rwkv":
        raise CheckpointError(f"{checkpoint} is a {meta['arch']} checkpoint; only RWKV has an official layout")
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(official_state_dict(model, DTYPES[dtype]), str(out))
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Export our RWKV checkpoint as an official RWKV-4 .pth.")
    parser.add_argument("out", help="output .pth path")
    parser.add_argument("--checkpoint", default="rwkv", help="our checkpoint name or stem (default: shipped rwkv)")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="fp32",
                        help="fp32 is lossless; official releases are bf16")
    args = parser.parse_args(argv)
    try:
        out = export_official(args.out, args.checkpoint, args.dtype)
    except CheckpointError as exc:
        parser.exit(2, f"error: {exc}\n")
    print(f"wrote {out} ({out.stat().st_size / 2**20:.1f} MiB, {args.dtype})")


if __name__ == "__main__":
    main()
