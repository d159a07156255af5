"""model/traces.py: the implicit-attention weights reproduce the recurrence exactly; ablations act."""
import numpy as np
import torch

from model.rwkv import RWKV, RWKVConfig
from model.tokenizer import load_tokenizer
from model.traces import ablated_copy, rwkv_contributions, trace_gpt, trace_rwkv
from model.gpt import GPT, GPTConfig


def random_rwkv(seed=0):
    torch.manual_seed(seed)
    m = RWKV(RWKVConfig(vocab_size=4096, n_layer=2, n_embd=32)).init_official()
    with torch.no_grad():
        for p in m.parameters():
            p.add_(torch.randn_like(p) * 0.2)
    m.invalidate_cache()
    return m.eval()


def test_contributions_reproduce_wkv():
    """Σ_i weight[t, i, c] · v_i,c must equal the WKV output; the channel mean is what we draw."""
    m = random_rwkv()
    T, C = 12, 32
    k = torch.randn(T, C, dtype=torch.float64)
    v = torch.randn(T, C, dtype=torch.float64)
    w = -torch.exp(m.blocks[0].att.time_decay.detach().double())
    u = m.blocks[0].att.time_first.detach().double()
    from model.rwkv import wkv_scan, wkv_weights

    wkv, _ = wkv_scan(w, u, k[None], v[None])
    weights = wkv_weights(w, u, k)  # (T, T, C)
    np.testing.assert_allclose((weights * v[None]).sum(1).numpy(), wkv[0].numpy(), atol=1e-10)
    drawn = rwkv_contributions(k.numpy(), torch.exp(w).numpy(), u.numpy())
    np.testing.assert_allclose(drawn, weights.mean(2).numpy(), atol=1e-6)
    np.testing.assert_allclose(drawn.sum(1), 1.0, atol=1e-6)
    assert np.all(np.triu(drawn, 1) == 0)


def test_trace_shapes_and_memory():
    tok = load_tokenizer()
    m = random_rwkv()
    ids = tok.encode("Once upon a time, Lily <b>smiled</b>.")
    tr = trace_rwkv(m, tok, ids)
    T = len(ids)
    assert tr.memory.shape == (T, 2, 32) and tr.top_probs.shape == (T, 5)
    assert tr.pieces == [tok.piece(i) for i in ids]
    assert tr.state_floats == 5 * 2 * 32
    np.testing.assert_allclose(tr.x_prev[1:], tr.x_now[:-1], atol=1e-6)  # token shift holds the previous input
    assert np.all(tr.x_prev[0] == 0)


def test_ablations_change_the_model_not_the_original():
    tok = load_tokenizer()
    m = random_rwkv()
    ids = tok.encode("Tom had a red ball and a blue hat.")
    base = trace_rwkv(m, tok, ids)
    no_shift = trace_rwkv(m, tok, ids, "no-shift")
    no_decay = trace_rwkv(m, tok, ids, "no-decay")
    assert not np.allclose(base.top_probs, no_shift.top_probs)
    assert np.all(no_shift.mix["k"] == 1) and np.all(no_decay.decay == 1)
    assert not np.allclose(base.memory, no_decay.memory)
    assert not torch.all(m.blocks[0].att.time_mix_k == 1)  # the original is untouched
    assert torch.isfinite(m.blocks[0].att.time_decay).all()
    again = trace_rwkv(m, tok, ids)
    np.testing.assert_array_equal(again.top_probs, base.top_probs)
    assert ablated_copy(m, "none") is m


def test_gpt_trace_attention_rows_sum_to_one_and_cache_grows():
    tok = load_tokenizer()
    torch.manual_seed(0)
    g = GPT(GPTConfig(vocab_size=4096, n_layer=2, n_embd=32, n_head=2)).eval()
    ids = tok.encode("A cat sat on the mat.")
    tr = trace_gpt(g, tok, ids)
    T = len(ids)
    assert tr.attention.shape == (2, 2, T, T)
    np.testing.assert_allclose(tr.attention.sum(-1), 1.0, atol=1e-5)
    assert np.all(np.diff(tr.cache_bytes) == tr.cache_bytes[0])
    assert tr.cache_bytes[0] == 2 * 2 * 32 * 4  # key + value, 2 layers, 32 floats, 4 bytes


def test_contributions_from_a_real_step_reproduce_its_wkv_output():
    """The app's path: k recorded by step(trace=True) → weights; Σ_i weight · v_i must equal the step's wkv."""
    from model.rwkv import wkv_weights

    tok = load_tokenizer()
    m = random_rwkv(3)
    ids = tok.encode("The dog ran to the park and the cat ran after it.")
    state = m.new_state()
    ks, vs, wkvs = [], [], []
    for token in ids:
        _, state, st = m.step(token, state, trace=True)
        ks.append(st.layers[1].k)
        vs.append(st.layers[1].v)
        wkvs.append(st.layers[1].wkv)
    k, v = torch.stack(ks).double(), torch.stack(vs).double()
    w = -torch.exp(m.blocks[1].att.time_decay.detach().double())
    weights = wkv_weights(w, m.blocks[1].att.time_first.detach().double(), k)
    np.testing.assert_allclose((weights * v[None]).sum(1).numpy(), torch.stack(wkvs).numpy(), atol=1e-4)
