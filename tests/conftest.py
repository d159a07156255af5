"""Shared fixtures for the model tests (all CPU, 1 intra-op thread).

- `make_rwkv(n_layer, n_embd, vocab, seed)`: an RWKV with official init and every weight perturbed,
  so no zero-initialised matrix makes a comparison trivial; the same arguments give the same model.
- `assert_same_tensors(expected, actual)`: two state dicts hold the same keys and equal tensors.
- `write_official(model, path)`: save in the official `.pth` layout.
- `shipped("rwkv" | "gpt")`: the shipped checkpoint, or a skip naming the missing file.
- `rwkv_pip`: the `rwkv` package's `RWKV` class, imported with JIT and CUDA off.
- `tiny_checkpoint`: a few-second training run of each architecture saved in our format (session).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
import torch

from model.checkpoint import WEIGHTS_DIR, load_model, official_state_dict
from model.rwkv import RWKV, RWKVConfig

torch.set_num_threads(1)  # tiny tensors: a second thread only adds OpenMP hand-offs (ms each on a busy box)

# Cost races run by the tests (and by the servers they start) keep their results in a folder of their
# own, never in the user's ~/.cache/rwkv-explainer (app/race_cache.py).
os.environ.setdefault("RWKV_EXPLAINER_DATA", tempfile.mkdtemp(prefix="rwkv-explainer-test-"))

REPO = Path(__file__).resolve().parent.parent
TINY_CORPUS = "\n<|endoftext|>\n".join(
    [
        "Once upon a time there was a little cat. The cat liked to play with a red ball.",
        "Tom had a big dog. The dog was happy. Tom and the dog ran in the park every day.",
        "Lily saw a bird in the tree. The bird sang a song. Lily smiled and sang too.",
        "One day, a boy found a shiny stone. He gave the stone to his mom. She said thank you.",
    ]
    * 12
) + "\n<|endoftext|>\n"


@torch.no_grad()
def perturbed_rwkv(n_layer: int = 2, n_embd: int = 32, vocab: int = 64, seed: int = 0) -> RWKV:
    """Official init, then noise on every tensor (zero-init matrices become random).

    A function of its arguments only: `nn.Linear`'s default init and `init_official` (orthogonal and uniform
    draws) use torch's global generator, so they run under `seed` in a forked RNG, which also leaves the
    caller's global RNG untouched. Same seed, same model, whatever ran before.
    """
    g = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = RWKV(RWKVConfig(vocab_size=vocab, n_layer=n_layer, n_embd=n_embd)).init_official()
    for name, p in model.named_parameters():
        noise = torch.randn(p.shape, generator=g)
        if p.dim() == 2:  # (out, in) matrices and the embedding
            p.copy_(p + noise / p.shape[1] ** 0.5)
        elif "time_mix" in name:
            p.copy_(torch.rand(p.shape, generator=g))
        elif "time_decay" in name or "time_first" in name:
            p.add_(0.5 * noise)
        elif name.endswith("weight"):  # LayerNorm gains
            p.copy_(1 + 0.2 * noise)
        else:  # LayerNorm biases
            p.copy_(0.2 * noise)
    model.invalidate_cache()
    return model.eval()


@pytest.fixture
def make_rwkv():
    return perturbed_rwkv


def assert_same_tensors(expected: dict, actual: dict, cast=None) -> None:
    """Same keys in the same order, and every tensor equal (after `cast` on the expected one, e.g. a bf16
    round trip). Never `zip` two state dicts: a missing or extra tensor would shorten the comparison."""
    assert list(expected) == list(actual), (f"keys differ: missing {sorted(set(expected) - set(actual))}, "
                                            f"extra {sorted(set(actual) - set(expected))}")
    for key, a in expected.items():
        a = cast(a) if cast else a
        b = actual[key]
        assert b.dtype == a.dtype and b.shape == a.shape, f"{key}: {b.dtype} {tuple(b.shape)} != {a.dtype} {tuple(a.shape)}"
        assert torch.equal(a, b), key


def save_official(model: RWKV, path: str | Path, dtype=torch.float32) -> Path:
    path = Path(path)
    torch.save(official_state_dict(model, dtype), str(path))
    return path


@pytest.fixture
def write_official():
    return save_official


def load_shipped(arch: str):
    weights = WEIGHTS_DIR / f"{arch}.safetensors"
    meta = WEIGHTS_DIR / f"{arch}.json"
    if not (weights.is_file() and meta.is_file()):
        pytest.fail(f"shipped weights {weights.relative_to(REPO)} / {meta.name} missing: see README, The models")
    return load_model(arch)[0]


@pytest.fixture
def shipped():
    return load_shipped


@pytest.fixture(scope="session")
def rwkv_pip():
    os.environ["RWKV_JIT_ON"] = "0"
    os.environ["RWKV_CUDA_ON"] = "0"
    from rwkv.model import RWKV as PipRWKV

    return PipRWKV


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "tiny.txt"
    path.write_text(TINY_CORPUS, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_runs(tiny_corpus, tmp_path_factory) -> dict:
    """{"rwkv": result, "gpt": result} of `train(arch, PRESETS['tiny'], ...)`, saved as `stem`."""
    from model.train import PRESETS, train

    out = tmp_path_factory.mktemp("tiny_runs")
    runs = {}
    for arch in ("rwkv", "gpt"):
        stem = out / arch
        runs[arch] = {**train(arch, PRESETS["tiny"], str(tiny_corpus), stem, seed=0, progress=False), "stem": stem}
    return runs
