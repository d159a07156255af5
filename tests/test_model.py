"""The two forms of RWKV agree; the transformer's KV cache changes nothing; generation is reproducible."""
from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest
import torch

from model.gpt import GPT, GPTConfig
from model.rwkv import ATT_P, LayerTrace, StepTrace

from conftest import REPO

T_LONG = 512


def recurrent_logits(model, ids: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits (T, V) and final state from `model.step`, one token at a time."""
    state = model.new_state()
    out = []
    for t in ids:
        logits, state = model.step(t, state)
        out.append(logits)
    return torch.stack(out), state


def assert_recurrent_matches_parallel(model, T: int, seed: int = 0) -> float:
    ids = torch.randint(0, model.cfg.vocab_size, (T,), generator=torch.Generator().manual_seed(seed)).tolist()
    with torch.no_grad():
        par, par_state = model(torch.tensor([ids]))
    rec, rec_state = recurrent_logits(model, ids)
    diff = (par[0] - rec).abs().max().item()
    assert diff <= 1e-4, f"recurrent vs parallel: max |Δlogit| = {diff:.2e} over {T} tokens"
    assert torch.allclose(par_state[0], rec_state, rtol=1e-4, atol=1e-4)
    return diff


def test_recurrent_equals_parallel_random_weights(make_rwkv):
    model = make_rwkv(n_layer=3, n_embd=48, vocab=97, seed=1)
    assert_recurrent_matches_parallel(model, T_LONG)


def test_recurrent_equals_parallel_shipped(shipped):
    assert_recurrent_matches_parallel(shipped("rwkv"), T_LONG)


def test_parallel_prompt_then_steps_equals_all_steps(make_rwkv):
    """Reading a prompt in parallel form and continuing with steps (what generate does) is exact."""
    model = make_rwkv(seed=2)
    ids = list(range(1, 40))
    rec, _ = recurrent_logits(model, ids)
    with torch.no_grad():
        _, state = model(torch.tensor([ids[:25]]))
    state = state[0]
    for t, token in enumerate(ids[25:], start=25):
        logits, state = model.step(token, state)
        assert (logits - rec[t]).abs().max() <= 1e-4


def test_step_leaves_state_alone_and_trace_matches_fast_path(make_rwkv):
    model = make_rwkv(seed=3)
    state = model.new_state()
    for t in (5, 9, 11):
        _, state = model.step(t, state)
    before = state.clone()
    fast_logits, fast_state = model.step(7, state)
    logits, traced_state, tr = model.step(7, state, trace=True)
    assert torch.equal(state, before)
    assert torch.equal(fast_logits, logits) and torch.equal(fast_state, traced_state)
    assert isinstance(tr, StepTrace) and tr.token == 7 and len(tr.layers) == model.cfg.n_layer
    assert [f.name for f in dataclasses.fields(LayerTrace)] == [
        "x_now", "x_prev", "xk", "xv", "xr", "r", "k", "v", "wkv", "decay", "state_before", "state_after"]
    for i, layer in enumerate(tr.layers):
        assert torch.equal(layer.state_before, state[i]) and torch.equal(layer.state_after, fast_state[i])
        assert layer.x_now.shape == (model.cfg.n_embd,) and bool(((layer.r > 0) & (layer.r < 1)).all())
        assert bool(((layer.decay > 0) & (layer.decay < 1)).all())
    assert sorted(tr.top_probs, reverse=True) == tr.top_probs and tr.top_ids[0] == int(logits.argmax())


def test_step_cache_follows_weight_changes(make_rwkv):
    """Weights loaded in place after a step must not leave `step` on stale derived tensors."""
    model, other = make_rwkv(seed=4), make_rwkv(seed=5)
    model.step(1, model.new_state())
    model.load_state_dict(other.state_dict())
    a, b = model.new_state(), other.new_state()
    for token in (1, 2, 3):  # from the second token on, the decay e^{−e^w} matters
        la, a = model.step(token, a)
        lb, b = other.step(token, b)
        assert torch.allclose(la, lb, atol=1e-6)


def test_fresh_state_layout(make_rwkv):
    model = make_rwkv()
    s = model.new_state()
    assert s.shape == (model.cfg.n_layer, 5, model.cfg.n_embd)
    assert bool((s[:, ATT_P] < -1e37).all()) and not s[:, [0, 1, 2, 4]].any()


def gpt_cache_vs_full(model: GPT, T: int, seed: int = 0, capacity: int = 64) -> float:
    ids = torch.randint(0, model.cfg.vocab_size, (T,), generator=torch.Generator().manual_seed(seed)).tolist()
    with torch.no_grad():
        full = model(torch.tensor([ids]))[0]
    cache = model.new_cache(capacity=capacity)
    steps = []
    for t in ids:
        logits, cache = model.step(t, cache)
        steps.append(logits)
    assert cache.length == T and cache.capacity >= T
    diff = (full - torch.stack(steps)).abs().max().item()
    assert diff <= 1e-4, f"GPT KV cache vs full forward: max |Δlogit| = {diff:.2e}"
    return diff


def test_gpt_kv_cache_equals_no_cache():
    torch.manual_seed(0)
    gpt_cache_vs_full(GPT(GPTConfig(vocab_size=97, n_layer=2, n_embd=32, n_head=2, ctx_len=64)).eval(), 80)


def test_gpt_kv_cache_grows_past_capacity_exactly():
    """300 tokens from an initial capacity of 64: three doublings (64 → 512), logits unchanged."""
    torch.manual_seed(1)
    model = GPT(GPTConfig(vocab_size=97, n_layer=2, n_embd=32, n_head=2, ctx_len=64)).eval()
    gpt_cache_vs_full(model, 300, seed=3, capacity=64)
    cache = model.new_cache(capacity=64)
    assert cache.capacity == 64 and cache.length == 0 and cache.total_bytes() == 0
    ids = list(range(1, 66))
    for t in ids:
        _, same = model.step(t, cache)
        assert same is cache  # updated in place
    assert cache.length == 65 and cache.capacity == 128
    H, hd = model.cfg.n_head, model.cfg.head_dim
    assert cache.entries_per_layer() == 2 * H * 65
    assert cache.bytes_per_layer() == 2 * H * 65 * hd * 4  # used, not capacity
    assert cache.total_bytes() == model.cfg.n_layer * cache.bytes_per_layer()
    # keys and values stored are the ones a single full-cache read computes, growth included
    small = model.new_cache(capacity=1)
    for t in ids:
        model.step(t, small)
    for i in range(model.cfg.n_layer):
        assert torch.equal(small.layer_keys(i), cache.layer_keys(i))
        assert torch.equal(small.layer_values(i), cache.layer_values(i))


def test_gpt_cache_copy_branches_independently():
    torch.manual_seed(2)
    model = GPT(GPTConfig(vocab_size=50, n_layer=2, n_embd=16, n_head=2)).eval()
    cache = model.new_cache(capacity=4)
    for t in (1, 2, 3):
        model.step(t, cache)
    branch = cache.copy()
    la, _ = model.step(7, cache)
    lb, _ = model.step(7, branch)
    assert torch.equal(la, lb) and cache.length == branch.length == 4
    lc, _ = model.step(9, branch)
    assert cache.length == 4 and branch.length == 5
    fresh = model.new_cache()
    for t in (1, 2, 3, 7, 9):
        ld, fresh = model.step(t, fresh)
    assert torch.allclose(lc, ld, atol=1e-6)


def test_gpt_step_trace_fields():
    torch.manual_seed(3)
    model = GPT(GPTConfig(vocab_size=50, n_layer=2, n_embd=16, n_head=2)).eval()
    cache = model.new_cache(capacity=2)
    for pos, t in enumerate((4, 5, 6)):
        logits, cache, st = model.step(t, cache, trace=True, top_k=3)
        assert st.token == t and st.position == pos and len(st.attention) == 2
        assert st.attention[0].shape == (2, pos + 1)
        assert torch.allclose(st.attention[1].sum(-1), torch.ones(2))
        assert st.cache_entries_per_layer == 2 * 2 * (pos + 1)
        assert st.cache_bytes_per_layer == 2 * 2 * (pos + 1) * 8 * 4
        assert st.top_ids[0] == int(logits.argmax()) and len(st.top_probs) == 3


def test_gpt_kv_cache_equals_no_cache_shipped(shipped):
    gpt_cache_vs_full(shipped("gpt"), 300)


# ---------------------------------------------------------------- generation (API and CLI)
def run_generate(capsys, *argv) -> str:
    from model.generate import main

    main(list(argv))
    return capsys.readouterr().out


@pytest.fixture(params=["rwkv", "gpt"])
def arch_stem(request, tiny_runs):
    return request.param, str(tiny_runs[request.param]["stem"])


def test_generate_greedy_is_deterministic(capsys, arch_stem):
    arch, stem = arch_stem
    args = ["--arch", arch, "--checkpoint", stem, "--prompt", "Once upon a time", "--tokens", "12", "--greedy", "--no-stop"]
    first = run_generate(capsys, *args)
    assert first.strip() and first == run_generate(capsys, *args)
    assert not first.startswith("Once upon a time")  # only the continuation is printed


def test_generate_seed_makes_sampling_reproducible(capsys, arch_stem):
    arch, stem = arch_stem
    base = ["--arch", arch, "--checkpoint", stem, "--prompt", "The dog", "--tokens", "20", "--temperature", "1.5", "--no-stop"]
    a = run_generate(capsys, *base, "--seed", "1")
    assert a == run_generate(capsys, *base, "--seed", "1")
    others = {run_generate(capsys, *base, "--seed", str(s)) for s in (2, 3, 4)}
    assert others != {a}


def test_generate_empty_prompt_starts_a_story(capsys, arch_stem):
    """An empty prompt is the same as generating after a lone <|endoftext|> token."""
    from model.checkpoint import load_model
    from model.generate import generate_ids
    from model.tokenizer import load_tokenizer

    arch, stem = arch_stem
    out = run_generate(capsys, "--arch", arch, "--checkpoint", stem, "--prompt", "", "--tokens", "8", "--seed", "0",
                       "--temperature", "0.8", "--no-stop")
    tok = load_tokenizer()
    model, _ = load_model(stem)
    ids = generate_ids(model, arch, [tok.eot_id], 8, 0.8, 0)
    assert len(ids) == 8
    assert out == tok.decode(ids) + "\n"
    # with stopping on (the default), the output is the same ids cut at the first <|endoftext|>
    stopped = run_generate(capsys, "--arch", arch, "--checkpoint", stem, "--prompt", "", "--tokens", "8", "--seed",
                           "0", "--temperature", "0.8")
    cut = ids[: ids.index(tok.eot_id)] if tok.eot_id in ids else ids
    assert stopped == tok.decode(cut) + "\n"


def test_generate_ids_matches_stepping(tiny_runs):
    """RWKV's parallel prompt read + steps gives the same greedy tokens as stepping everything."""
    from model.checkpoint import load_model
    from model.generate import generate_ids

    model, _ = load_model(tiny_runs["rwkv"]["stem"])
    prompt = [1, 5, 9, 2]
    got = generate_ids(model, "rwkv", prompt, 6)
    state = model.new_state()
    for t in prompt:
        logits, state = model.step(t, state)
    expect = []
    for _ in range(6):
        expect.append(int(logits.argmax()))
        logits, state = model.step(expect[-1], state)
    assert got == expect


def test_generate_cli_subprocess_and_messages(tiny_runs, tmp_path, make_rwkv, write_official, capsys):
    cmd = [sys.executable, "-m", "model.generate", "--arch", "rwkv", "--checkpoint", str(tiny_runs["rwkv"]["stem"]),
           "--prompt", "Tom", "--tokens", "5", "--greedy", "--no-stop"]
    ok = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip()
    # an official .pth needs its tokenizer named explicitly
    pth = str(write_official(make_rwkv(vocab=4096), tmp_path / "official.pth"))
    args = ["--arch", "rwkv", "--checkpoint", pth, "--prompt", "Tom", "--tokens", "5", "--greedy"]
    with pytest.raises(SystemExit) as exc:
        run_generate(capsys, *args)
    assert exc.value.code == 2 and "pass --tokenizer PATH" in capsys.readouterr().err
    assert run_generate(capsys, *args, "--no-stop", "--tokenizer", str(REPO / "model/weights/tokenizer.json")).strip()
    with pytest.raises(SystemExit) as exc:
        run_generate(capsys, "--arch", "gpt", "--checkpoint", pth, "--tokenizer", "x.json")
    assert exc.value.code == 2 and "RWKV-4 only" in capsys.readouterr().err
