"""Our RWKV-4 computes what the reference implementations compute, on the same weights.

References: the `rwkv` pip package (BlinkDL/ChatRWKV's `rwkv_pip_package`, token by token, its state
modified in place) and Hugging Face `transformers` `RwkvForCausalLM` (with `rescale_every=0`).
"""
from __future__ import annotations

import pytest
import torch

from model.checkpoint import hf_state_dict, load_official_rwkv
from model.rwkv import ATT_A, ATT_B, ATT_P, ATT_X, FFN_X

from conftest import assert_same_tensors

TOL = 1e-4
SHAPES = [  # (n_layer, n_embd, vocab): two shapes, the second with an odd vocabulary
    (2, 32, 64),
    (3, 48, 101),
]


def reference_tokens(model, pip_model, ids: list[int]) -> float:
    """Step both models through `ids`; returns the largest |Δlogit| (and checks the state too)."""
    ours = model.new_state()
    ref_state = None
    worst = 0.0
    for t in ids:
        ref_logits, ref_state = pip_model.forward([t], ref_state)
        logits, ours = model.step(t, ours)
        worst = max(worst, (logits - ref_logits).abs().max().item())
    # pip state: flat list, per layer [att_x, a, b, p, ffn_x] — the same slot order as ours
    assert len(ref_state) == 5 * model.cfg.n_layer, len(ref_state)
    ref = torch.stack([torch.stack(ref_state[5 * i: 5 * i + 5]) for i in range(model.cfg.n_layer)])
    for slot in (ATT_X, ATT_A, ATT_B, FFN_X):
        assert torch.allclose(ours[:, slot], ref[:, slot], rtol=1e-4, atol=1e-4), f"state slot {slot} differs"
    assert torch.allclose(ours[:, ATT_P], ref[:, ATT_P], rtol=1e-5, atol=1e-4)
    return worst


@pytest.mark.parametrize("n_layer,n_embd,vocab", SHAPES)
def test_matches_rwkv_pip_package(n_layer, n_embd, vocab, make_rwkv, write_official, rwkv_pip, tmp_path):
    model = make_rwkv(n_layer, n_embd, vocab, seed=n_layer)
    path = write_official(model, tmp_path / "random.pth")
    pip_model = rwkv_pip(model=str(path)[: -len(".pth")], strategy="cpu fp32", verbose=False)
    ids = torch.randint(0, vocab, (48,), generator=torch.Generator().manual_seed(0)).tolist()
    worst = reference_tokens(model, pip_model, ids)
    assert worst <= TOL, f"ours vs rwkv package: max |Δlogit| = {worst:.2e}"
    # and the official file read back through our loader gives the same model
    again = load_official_rwkv(path)
    assert_same_tensors(model.state_dict(), again.state_dict())


def test_bf16_official_checkpoint_loads_as_fp32(make_rwkv, write_official, tmp_path):
    """Official releases are bf16: we upcast every tensor to fp32, exactly (no other change).

    (The pip package instead applies ln0 to the embedding while still in bf16, so on a bf16 file it
    differs from any fp32 model by bf16 rounding; the comparisons above therefore use fp32 files.)
    """
    model = make_rwkv(2, 32, 64, seed=9)
    ours = load_official_rwkv(write_official(model, tmp_path / "bf16.pth", dtype=torch.bfloat16))
    assert_same_tensors(model.state_dict(), ours.state_dict(), cast=lambda t: t.to(torch.bfloat16).float())


def hf_model_for(model):
    from transformers import RwkvConfig, RwkvForCausalLM

    cfg = model.cfg
    hf_cfg = RwkvConfig(vocab_size=cfg.vocab_size, hidden_size=cfg.n_embd, num_hidden_layers=cfg.n_layer,
                        attention_hidden_size=cfg.n_embd, intermediate_size=cfg.dim_ffn, context_length=cfg.ctx_len,
                        rescale_every=0)
    hf = RwkvForCausalLM(hf_cfg)
    hf.load_state_dict(hf_state_dict(model), strict=True)
    return hf.eval()


@pytest.mark.parametrize("n_layer,n_embd,vocab", SHAPES)
def test_matches_huggingface_rwkv(n_layer, n_embd, vocab, make_rwkv):
    model = make_rwkv(n_layer, n_embd, vocab, seed=10 + n_layer)
    hf = hf_model_for(model)
    ids = torch.randint(0, vocab, (1, 64), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        out = hf(input_ids=ids, use_cache=True)
        ours, state = model(ids)
    diff = (out.logits - ours).abs().max().item()
    assert diff <= TOL, f"ours vs transformers: max |Δlogit| = {diff:.2e}"
    # HF state: five (B, C, L) tensors in the order ffn_x, att_x, num, den, max
    assert len(out.state) == 5
    hf_state = [s[0].T for s in out.state]  # each (L, C)
    for hf_slot, ours_slot in zip(range(5), (FFN_X, ATT_X, ATT_A, ATT_B, ATT_P)):
        assert torch.allclose(hf_state[hf_slot], state[0, :, ours_slot], rtol=1e-4, atol=1e-4)


def test_load_hf_rwkv_from_save_pretrained(make_rwkv, tmp_path):
    from model.checkpoint import load_hf_rwkv

    model = make_rwkv(2, 32, 64, seed=21)
    hf_model_for(model).save_pretrained(tmp_path / "hf")
    again = load_hf_rwkv(tmp_path / "hf")
    assert again.cfg.n_layer == 2 and again.cfg.n_embd == 32 and again.cfg.vocab_size == 64
    assert_same_tensors(model.state_dict(), again.state_dict())


def test_make_rwkv_depends_on_its_seed_only(make_rwkv):
    """The fixture draws every tensor from its seed: test order and the global RNG change nothing."""
    torch.manual_seed(123)
    a = make_rwkv(2, 32, 64, seed=5)
    torch.manual_seed(456)
    torch.rand(1000)  # another test used the global generator in between
    b = make_rwkv(2, 32, 64, seed=5)
    assert_same_tensors(a.state_dict(), b.state_dict())
    c = make_rwkv(2, 32, 64, seed=6)
    assert any(not torch.equal(x, y) for x, y in zip(a.state_dict().values(), c.state_dict().values()))
    torch.manual_seed(7)  # and it leaves the caller's global generator where it was
    expected = torch.rand(3)
    torch.manual_seed(7)
    make_rwkv(2, 32, 64, seed=1)
    assert torch.equal(torch.rand(3), expected)


# ---------------------------------------------------------------- an official file we did not write
# Built here key by key from the official RWKV-4 layout (BlinkDL/RWKV-LM v4neo; the `rwkv` package reads the
# same names), not with model.checkpoint.official_state_dict, so a mistake shared by our exporter and our loader
# cannot hide. The shape is small on purpose: the real 169M shape (12 × 768, vocabulary 50,277) took 19 s and
# 2.6 GB of memory here for the file, its fp32 copy and two loaded models, too much for CI on 2 cores; what the
# loader depends on is all present at this size: the key names, ln0 only in block 0, time_mix as [1, 1, C],
# raw time_decay, (out, in) matrices, a 4·C channel-mixing layer, a vocabulary unlike the width, bf16.
OFFICIAL_SHAPE = (3, 128, 50277)  # n_layer, n_embd, vocabulary (the Pile models' vocabulary)


def official_bf16_state(n_layer: int, n_embd: int, vocab: int, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    C = n_embd

    def rnd(*shape, scale=1.0):
        return torch.randn(shape, generator=g) * scale

    sd = {"emb.weight": rnd(vocab, C)}
    for i in range(n_layer):
        b = f"blocks.{i}."
        if i == 0:
            sd[b + "ln0.weight"], sd[b + "ln0.bias"] = 1 + 0.1 * rnd(C), 0.1 * rnd(C)
        for ln in ("ln1", "ln2"):
            sd[b + ln + ".weight"], sd[b + ln + ".bias"] = 1 + 0.1 * rnd(C), 0.1 * rnd(C)
        sd[b + "att.time_decay"] = torch.empty(C).uniform_(-6, 2, generator=g)  # raw: decay is e^(−e^w)
        sd[b + "att.time_first"] = -1.2 + 0.5 * rnd(C)
        for m in "kvr":
            sd[b + f"att.time_mix_{m}"] = torch.rand(1, 1, C, generator=g)
        for name in ("key", "value", "receptance", "output"):
            sd[b + f"att.{name}.weight"] = rnd(C, C, scale=C**-0.5)
        sd[b + "ffn.time_mix_k"] = torch.rand(1, 1, C, generator=g)
        sd[b + "ffn.time_mix_r"] = torch.rand(1, 1, C, generator=g)
        sd[b + "ffn.key.weight"] = rnd(4 * C, C, scale=C**-0.5)
        sd[b + "ffn.receptance.weight"] = rnd(C, C, scale=C**-0.5)
        sd[b + "ffn.value.weight"] = rnd(C, 4 * C, scale=(4 * C) ** -0.5)
    sd["ln_out.weight"], sd["ln_out.bias"] = 1 + 0.1 * rnd(C), 0.1 * rnd(C)
    sd["head.weight"] = rnd(vocab, C, scale=C**-0.5)
    return {k: v.to(torch.bfloat16) for k, v in sd.items()}


def test_independent_official_bf16_file_loads_and_matches_the_package(rwkv_pip, tmp_path):
    n_layer, n_embd, vocab = OFFICIAL_SHAPE
    sd = official_bf16_state(n_layer, n_embd, vocab)
    torch.save(sd, tmp_path / "official_bf16.pth")
    ours = load_official_rwkv(tmp_path / "official_bf16.pth")
    assert (ours.cfg.n_layer, ours.cfg.n_embd, ours.cfg.vocab_size) == OFFICIAL_SHAPE
    # every tensor of the file, upcast exactly, under its own name (time_mix [1, 1, C] → [C])
    loaded = ours.state_dict()
    assert sorted(loaded) == sorted(sd)
    for key, t in sd.items():
        assert loaded[key].dtype == torch.float32 and torch.equal(loaded[key], t.float().reshape(loaded[key].shape)), key

    # against the reference package on the same numbers: the file upcast to fp32 …
    torch.save({k: v.float() for k, v in sd.items()}, tmp_path / "official_fp32.pth")
    pip_fp32 = rwkv_pip(model=str(tmp_path / "official_fp32"), strategy="cpu fp32", verbose=False)
    ids = torch.randint(0, vocab, (16,), generator=torch.Generator().manual_seed(3)).tolist()
    assert reference_tokens(ours, pip_fp32, ids) <= TOL
    # … and the bf16 file itself, which the package normalises with ln0 while still in bf16 (see
    # test_bf16_official_checkpoint_loads_as_fp32): equal up to that rounding, 1e-2 measured here
    pip_bf16 = rwkv_pip(model=str(tmp_path / "official_bf16"), strategy="cpu fp32", verbose=False)
    state, ref_state, worst = ours.new_state(), None, 0.0
    for t in ids:
        ref_logits, ref_state = pip_bf16.forward([t], ref_state)
        logits, state = ours.step(t, state)
        worst = max(worst, (logits - ref_logits).abs().max().item())
    assert worst <= 5e-2, f"ours vs rwkv package on the bf16 file: max |Δlogit| = {worst:.2e}"
