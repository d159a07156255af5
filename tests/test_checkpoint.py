"""Checkpoint loading fails loudly and safely: missing, truncated, corrupt, wrong-shape and
code-carrying files all raise `CheckpointError` with a message that says which, and run no code."""
from __future__ import annotations

import json
import os
import pickle

import pytest
import torch

from model.checkpoint import (
    CheckpointError,
    hf_key_to_official,
    load_hf_rwkv,
    load_model,
    load_official_rwkv,
    official_key_to_hf,
    official_state_dict,
    save_model,
)
from model.rwkv import RWKVConfig

from conftest import assert_same_tensors


class MarkerPayload:
    """Unpickling this runs `os.system("touch MARKER")`: what a malicious checkpoint would do."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch '{self.marker}'",))


@pytest.fixture
def official_path(make_rwkv, write_official, tmp_path):
    return write_official(make_rwkv(2, 32, 64), tmp_path / "good.pth")


def test_official_round_trip_is_lossless(make_rwkv, tmp_path):
    model = make_rwkv(3, 48, 101, seed=7)
    sd = official_state_dict(model)
    assert sd["blocks.2.att.time_mix_v"].shape == (1, 1, 48) and sd["blocks.0.ln0.weight"].shape == (48,)
    assert torch.equal(sd["blocks.1.att.time_decay"], model.blocks[1].att.time_decay)  # raw, not −exp
    torch.save(sd, tmp_path / "m.pth")
    again = load_official_rwkv(tmp_path / "m.pth")
    assert again.cfg == RWKVConfig(vocab_size=101, n_layer=3, n_embd=48, ctx_len=again.cfg.ctx_len)
    assert_same_tensors(model.state_dict(), again.state_dict())


def test_hf_key_names_round_trip(make_rwkv):
    for key in make_rwkv().state_dict():
        assert hf_key_to_official(official_key_to_hf(key)) == key
    assert official_key_to_hf("blocks.0.ln0.weight") == "rwkv.blocks.0.pre_ln.weight"
    assert official_key_to_hf("blocks.1.ffn.time_mix_r") == "rwkv.blocks.1.feed_forward.time_mix_receptance"
    assert hf_key_to_official("blocks.1.attention.time_mix_value") == "blocks.1.att.time_mix_v"


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_official_rwkv(tmp_path / "nope.pth")
    with pytest.raises(CheckpointError, match="not found"):
        load_model(tmp_path / "nope")


def test_empty_and_truncated_pth(official_path, tmp_path):
    (tmp_path / "empty.pth").write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty"):
        load_official_rwkv(tmp_path / "empty.pth")
    data = official_path.read_bytes()
    (tmp_path / "cut.pth").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        load_official_rwkv(tmp_path / "cut.pth")


def test_garbage_bytes(tmp_path):
    (tmp_path / "noise.pth").write_bytes(os.urandom(4096))
    with pytest.raises(CheckpointError, match="corrupt|truncated"):
        load_official_rwkv(tmp_path / "noise.pth")
    (tmp_path / "noise.safetensors").write_bytes(os.urandom(4096))
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_hf_rwkv(tmp_path / "noise.safetensors")


def test_pickle_payload_is_refused_without_running(tmp_path):
    # the payload is live: plain pickle would run it
    proof = tmp_path / "proof_marker"
    pickle.loads(pickle.dumps({"emb.weight": MarkerPayload(proof)}))
    assert proof.exists()
    # as a raw pickle and as a torch zip archive: refused, marker never created
    marker = tmp_path / "marker"
    raw, zipped = tmp_path / "raw.pth", tmp_path / "zipped.pth"
    raw.write_bytes(pickle.dumps({"emb.weight": MarkerPayload(marker)}, protocol=2))
    torch.save({"emb.weight": torch.zeros(2, 2), "x": MarkerPayload(marker)}, zipped)
    for path in (raw, zipped):
        with pytest.raises(CheckpointError, match="refused .*run code.*nothing was executed"):
            load_official_rwkv(path)
    assert not marker.exists()


def test_not_a_dict_of_tensors(tmp_path):
    torch.save(torch.zeros(3), tmp_path / "tensor.pth")
    with pytest.raises(CheckpointError, match="dictionary of tensors"):
        load_official_rwkv(tmp_path / "tensor.pth")
    torch.save({"emb.weight": torch.zeros(4, 4), "note": "hi"}, tmp_path / "mixed.pth")
    with pytest.raises(CheckpointError, match="not tensors"):
        load_official_rwkv(tmp_path / "mixed.pth")


def test_wrong_shapes_and_keys(make_rwkv, tmp_path):
    sd = official_state_dict(make_rwkv(2, 32, 64))
    bad = dict(sd, **{"blocks.1.att.key.weight": torch.zeros(32, 33)})
    torch.save(bad, tmp_path / "shape.pth")
    with pytest.raises(CheckpointError, match=r"blocks.1.att.key.weight has shape \(32, 33\), expected \(32, 32\)"):
        load_official_rwkv(tmp_path / "shape.pth")
    missing = {k: v for k, v in sd.items() if not k.startswith("blocks.0.ln0")}
    torch.save(missing, tmp_path / "noln0.pth")
    with pytest.raises(CheckpointError, match="missing.*blocks.0.ln0"):
        load_official_rwkv(tmp_path / "noln0.pth")
    torch.save(dict(sd, **{"blocks.0.att.time_maa_x": torch.zeros(1, 1, 32)}), tmp_path / "v6.pth")
    with pytest.raises(CheckpointError, match="RWKV-5/6"):
        load_official_rwkv(tmp_path / "v6.pth")
    torch.save(sd, tmp_path / "ok.pth")
    with pytest.raises(CheckpointError, match="n_embd is 32 in the checkpoint but 64 was expected"):
        load_official_rwkv(tmp_path / "ok.pth", expect=RWKVConfig(vocab_size=64, n_layer=2, n_embd=64))


def test_our_format_mismatched_config_and_sha(make_rwkv, tmp_path):
    meta_path = save_model(make_rwkv(2, 32, 64), "rwkv", tmp_path / "m")
    model, meta = load_model(tmp_path / "m")
    assert meta["arch"] == "rwkv" and model.cfg.n_embd == 32
    # config that does not fit the weights
    meta["config"]["n_embd"] = 64
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="does not fit a rwkv model"):
        load_model(tmp_path / "m")
    meta["config"]["n_embd"] = 32
    meta_path.write_text(json.dumps(meta))
    # one flipped byte → SHA-256 mismatch
    weights = tmp_path / "m.safetensors"
    data = bytearray(weights.read_bytes())
    data[-5] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="SHA-256"):
        load_model(tmp_path / "m")
    # truncated weights with the hash check off still fail clearly
    weights.write_bytes(bytes(data[: len(data) // 2]))
    with pytest.raises(CheckpointError, match="cannot read"):
        load_model(tmp_path / "m", check_hash=False)
    meta_path.write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_model(tmp_path / "m")


def test_hf_config_mismatch(make_rwkv, tmp_path):
    from safetensors.torch import save_file

    from model.checkpoint import hf_state_dict

    d = tmp_path / "hf"
    d.mkdir()
    save_file(hf_state_dict(make_rwkv(2, 32, 64)), str(d / "model.safetensors"))
    assert load_hf_rwkv(d).cfg.n_layer == 2  # no config.json: shapes suffice
    (d / "config.json").write_text(json.dumps({"hidden_size": 32, "num_hidden_layers": 3, "vocab_size": 64}))
    with pytest.raises(CheckpointError, match="num_hidden_layers=3 but the weights have 2"):
        load_hf_rwkv(d)


def test_our_format_malformed_config_json(make_rwkv, tmp_path):
    meta_path = save_model(make_rwkv(2, 32, 64), "rwkv", tmp_path / "m")
    good = json.loads(meta_path.read_text())

    def write(obj):
        meta_path.write_text(json.dumps(obj))

    for not_an_object in ([1, 2], "rwkv", 3, None):
        write(not_an_object)
        with pytest.raises(CheckpointError, match="must hold a JSON object"):
            load_model(tmp_path / "m")
    for key in ("arch", "config"):
        write({k: v for k, v in good.items() if k != key})
        with pytest.raises(CheckpointError, match=f"lacks '{key}'"):
            load_model(tmp_path / "m")
    write(dict(good, config=dict(good["config"], n_heads=4)))
    with pytest.raises(CheckpointError, match=r"unknown rwkv config field\(s\) \['n_heads'\]"):
        load_model(tmp_path / "m")
    write(dict(good, config=[4096, 2, 32]))
    with pytest.raises(CheckpointError, match="`config` must be a JSON object"):
        load_model(tmp_path / "m")
    write(dict(good, arch="mamba"))
    with pytest.raises(CheckpointError, match="unknown architecture 'mamba'"):
        load_model(tmp_path / "m")
    write(dict(good, arch="gpt", config={"vocab_size": 64, "n_layer": 2, "n_embd": 30, "n_head": 4}))
    with pytest.raises(CheckpointError, match="invalid gpt config"):
        load_model(tmp_path / "m")
    write(good)
    assert load_model(tmp_path / "m")[1]["arch"] == "rwkv"


def test_weights_name_cannot_escape_the_folder(make_rwkv, tmp_path):
    """`weights: ../x.safetensors` is read as `x.safetensors` next to the JSON, never elsewhere."""
    inner = tmp_path / "inner"
    meta_path = save_model(make_rwkv(2, 32, 64), "rwkv", inner / "m")
    outside = save_model(make_rwkv(2, 32, 64, seed=9), "rwkv", tmp_path / "other")
    meta = json.loads(meta_path.read_text())
    meta.update(weights="../other.safetensors", sha256=json.loads(outside.read_text())["sha256"])
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="weights file not found") as exc:
        load_model(inner / "m")
    assert str(inner / "other.safetensors") in str(exc.value)
    meta.update(weights=str(tmp_path / "other.safetensors"))  # absolute paths are cut to the name too
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="weights file not found"):
        load_model(inner / "m")
    meta.update(weights="../m.safetensors", sha256=None)  # resolves to inner/m.safetensors: loads
    meta_path.write_text(json.dumps(meta))
    assert load_model(inner / "m")[0].cfg.n_embd == 32
    meta.update(weights="")
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="must be a file name"):
        load_model(inner / "m")


def test_official_key_without_layer_number(make_rwkv, tmp_path):
    sd = official_state_dict(make_rwkv(2, 32, 64))
    for bad_key in ("blocks.x.att.key.weight", "blocks.", "blocks.1"):
        torch.save(dict(sd, **{bad_key: torch.zeros(2)}), tmp_path / "bad.pth")
        with pytest.raises(CheckpointError, match="does not name a layer"):
            load_official_rwkv(tmp_path / "bad.pth")
