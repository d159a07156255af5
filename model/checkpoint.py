"""Checkpoint I/O for the project's own format: `NAME.safetensors` (weights) + `NAME.json` (config,
training record, SHA-256 of the weights file). Loading never executes pickle code.

Example:
    >>> model, meta = load_model("rwkv")          # model/weights/rwkv.safetensors, checked
    >>> meta["arch"]
    'rwkv'
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from .gpt import GPT, GPTConfig
from .rwkv import RWKV, RWKVConfig

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


class CheckpointError(ValueError):
    """A checkpoint is missing, truncated, corrupt or does not fit the model: message says which."""


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def build_model(arch: str, config: dict):
    if arch == "rwkv":
        return RWKV(RWKVConfig(**config))
    if arch == "gpt":
        return GPT(GPTConfig(**config))
    raise CheckpointError(f"unknown architecture {arch!r} (expected 'rwkv' or 'gpt')")


def save_model(model, arch: str, path_stem: str | Path, extra: dict | None = None) -> Path:
    """Write `<stem>.safetensors` and `<stem>.json`; returns the JSON path."""
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    weights = stem.with_suffix(".safetensors")
    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(tensors, str(weights))
    meta = {"arch": arch, "config": asdict(model.cfg), "weights": weights.name, "sha256": sha256_file(weights)}
    meta.update(extra or {})
    meta_path = stem.with_suffix(".json")
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    return meta_path


def resolve_stem(name_or_path: str | Path) -> Path:
    """'rwkv' → model/weights/rwkv; a path with or without suffix → that stem."""
    p = Path(name_or_path)
    if p.suffix in (".json", ".safetensors"):
        p = p.with_suffix("")
    if not p.parent.parts and not p.with_suffix(".json").exists():
        p = WEIGHTS_DIR / p
    return p


def load_model(name_or_path: str | Path = "rwkv", check_hash: bool = True):
    """Load one of our checkpoints; verify its SHA-256. Returns (model in eval mode, metadata dict)."""
    stem = resolve_stem(name_or_path)
    meta_path = stem.with_suffix(".json")
    if not meta_path.is_file():
        raise CheckpointError(f"checkpoint config not found: {meta_path}")
    try:
        meta = json.loads(meta_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"checkpoint config is not valid JSON: {meta_path}") from exc
    weights = meta_path.parent / meta.get("weights", stem.with_suffix(".safetensors").name)
    if not weights.is_file():
        raise CheckpointError(f"weights file not found: {weights}")
    if check_hash and meta.get("sha256") and sha256_file(weights) != meta["sha256"]:
        raise CheckpointError(f"SHA-256 of {weights.name} does not match its config: file corrupt or replaced")
    try:
        tensors = load_file(str(weights))
    except Exception as exc:  # safetensors raises several types for damaged files
        raise CheckpointError(f"cannot read {weights.name}: {exc}") from exc
    model = build_model(meta["arch"], meta["config"])
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{weights.name} does not fit a {meta['arch']} model of this config: {exc}") from exc
    return model.eval(), meta
