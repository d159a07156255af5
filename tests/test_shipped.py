"""The shipped pair (model/weights/{rwkv,gpt}.{safetensors,json}) is a fair comparison and works:
same shape and training budget, recorded validation numbers, intact files, English-looking output."""
from __future__ import annotations

import json
import math
import re

import pytest

from model.checkpoint import WEIGHTS_DIR, sha256_file

ARCHS = ("rwkv", "gpt")
SHARED_FIELDS = ("vocab_size", "n_layer", "n_embd", "ctx_len")
COMMON_WORDS = {"the", "a", "and", "to", "was", "she", "he", "her", "his"}
PROMPT = "Once upon a time"


def shipped_meta(arch: str) -> dict:
    path = WEIGHTS_DIR / f"{arch}.json"
    if not (path.is_file() and (WEIGHTS_DIR / f"{arch}.safetensors").is_file()):
        pytest.fail(f"shipped {arch} weights missing: see README, The models")
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def metas() -> dict:
    return {arch: shipped_meta(arch) for arch in ARCHS}


def test_both_configs_load_and_name_their_arch(metas):
    for arch, meta in metas.items():
        assert isinstance(meta, dict) and meta["arch"] == arch
        assert meta["weights"] == f"{arch}.safetensors"
        assert isinstance(meta["config"], dict)


def test_same_shape(metas):
    for field in SHARED_FIELDS:
        assert metas["rwkv"]["config"][field] == metas["gpt"]["config"][field], field


def test_same_training_budget(metas):
    seen = [metas[a]["training"]["tokens_seen"] for a in ARCHS]
    assert seen[0] == seen[1] > 0
    for arch in ARCHS:
        t = metas[arch]["training"]
        assert t["final_loss_ema"] < t["first_loss"], arch


def test_validation_recorded(metas):
    for arch, meta in metas.items():
        v = meta["validation"]
        assert v["stories"] > 0 and v["tokens"] > 0, arch
        assert math.isfinite(v["loss"]) and 0 < v["loss"] < math.log(meta["config"]["vocab_size"]), arch
        assert 0 < v["top1"] < 1, arch
    # both were scored on the same tokens
    assert metas["rwkv"]["validation"]["tokens"] == metas["gpt"]["validation"]["tokens"]


def test_sha256_matches(metas):
    for arch, meta in metas.items():
        assert sha256_file(WEIGHTS_DIR / meta["weights"]) == meta["sha256"], arch


def test_parameter_counts_within_ten_percent(shipped):
    counts = {arch: sum(p.numel() for p in shipped(arch).parameters()) for arch in ARCHS}
    hi, lo = max(counts.values()), min(counts.values())
    assert (hi - lo) / hi <= 0.10, counts


def test_shipped_rwkv_writes_english(shipped):
    from model.generate import generate_ids, prompt_to_ids
    from model.tokenizer import load_tokenizer

    model, tok = shipped("rwkv"), load_tokenizer()
    assert tok.vocab_size <= model.cfg.vocab_size
    text = tok.decode(generate_ids(model, "rwkv", prompt_to_ids(tok, PROMPT), 60, stop_id=tok.eot_id))
    chars = [c for c in text if not c.isspace() or c == " "]
    english = sum(c == " " or (c.isascii() and c.isalpha()) for c in chars)
    assert chars and english / len(chars) >= 0.70, text
    words = set(re.findall(r"[a-z]+", text.lower()))
    assert len(words & COMMON_WORDS) >= 3, text
