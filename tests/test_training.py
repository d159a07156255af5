"""A few-second training run lowers the loss; saving, exporting and reloading lose nothing."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from model.checkpoint import load_model, load_official_rwkv
from model.export_official import export_official

from conftest import REPO, assert_same_tensors


def test_tiny_training_lowers_the_loss(tiny_runs):
    for arch, run in tiny_runs.items():
        t = run["training"]
        assert math.isfinite(t["final_loss_ema"]) and t["steps"] == 30
        assert t["final_loss_ema"] < t["first_loss"] - 0.5, f"{arch}: {t['first_loss']:.3f} → {t['final_loss_ema']:.3f}"
        assert run["validation"]["tokens"] > 0 and run["validation"]["loss"] < t["first_loss"], arch


def test_save_and_reload_is_lossless(tiny_runs):
    for arch, run in tiny_runs.items():
        model, meta = load_model(run["stem"])
        assert meta["arch"] == arch and meta["training"]["steps"] == 30
        assert_same_tensors(run["model"].state_dict(), model.state_dict())


def test_export_official_then_reload_is_lossless(tiny_runs, tmp_path):
    trained = tiny_runs["rwkv"]["model"]
    path = export_official(tmp_path / "tiny.pth", tiny_runs["rwkv"]["stem"])
    again = load_official_rwkv(path)
    assert_same_tensors(trained.state_dict(), again.state_dict())
    ids = torch.tensor([[0, 5, 17, 3, 99]])
    with torch.no_grad():
        assert torch.equal(trained.eval()(ids)[0], again(ids)[0])


def test_export_cli(tiny_runs, tmp_path, capsys):
    from model.export_official import main

    out = tmp_path / "cli.pth"
    cmd = [sys.executable, "-m", "model.export_official", str(out), "--checkpoint", str(tiny_runs["rwkv"]["stem"])]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert out.is_file() and "wrote" in done.stdout
    with pytest.raises(SystemExit) as exc:
        main([str(tmp_path / "gpt.pth"), "--checkpoint", str(tiny_runs["gpt"]["stem"])])
    assert exc.value.code == 2 and "only RWKV" in capsys.readouterr().err


# ---------------------------------------------------------------- evaluation (API and CLI)
STORIES = [
    "Tom had a big dog. The dog was happy.",
    "Lily saw a bird in the tree. The bird sang a song. Lily smiled and sang too.",
    " ".join(["Once upon a time there was a little cat who liked to play with a red ball in the sun."] * 30),
]


def test_evaluate_cli_subprocess_counts_tokens(tmp_path, shipped):
    from model.tokenizer import load_tokenizer

    model = shipped("rwkv")  # skips when the shipped weights are missing
    text = tmp_path / "three.txt"
    text.write_text("\n<|endoftext|>\n".join(STORIES) + "\n<|endoftext|>\n", encoding="utf-8")
    cmd = [sys.executable, "-m", "model.evaluate", "--arch", "rwkv", "--text", str(text)]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=180,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert set(result) == {"tokens", "loss", "top1"}
    tok = load_tokenizer()
    ctx = model.cfg.ctx_len
    lengths = [len(tok.encode(s)) for s in STORIES]
    assert max(lengths) + 1 > ctx  # the long story is cut at the trained context
    assert result["tokens"] == sum(min(n + 1, ctx) for n in lengths)
    assert math.isfinite(result["loss"]) and 0 < result["loss"] < 10 and 0 <= result["top1"] <= 1


def test_evaluate_cli_clear_errors(tmp_path, capsys, tiny_runs):
    from model.evaluate import main

    def fails(*argv) -> str:
        with pytest.raises(SystemExit) as exc:
            main(list(argv))
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err
        return err

    assert "text file not found" in fails("--arch", "rwkv", "--text", str(tmp_path / "missing.txt"))
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    assert "not UTF-8" in fails("--arch", "rwkv", "--text", str(tmp_path / "latin1.txt"))
    text = tmp_path / "ok.txt"
    text.write_text(STORIES[0], encoding="utf-8")
    assert "checkpoint config not found" in fails("--text", str(text), "--checkpoint", str(tmp_path / "nope"))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert "not valid JSON" in fails("--text", str(text), "--checkpoint", str(bad))
    # a checkpoint whose weights were damaged after saving
    meta = json.loads(Path(str(tiny_runs["rwkv"]["stem"]) + ".json").read_text())
    (tmp_path / "dmg.safetensors").write_bytes(b"\0" * 64)
    (tmp_path / "dmg.json").write_text(json.dumps(dict(meta, weights="dmg.safetensors")))
    assert "SHA-256" in fails("--text", str(text), "--checkpoint", str(tmp_path / "dmg"))
    # and a good tiny checkpoint runs in-process
    main(["--arch", "rwkv", "--text", str(text), "--checkpoint", str(tiny_runs["rwkv"]["stem"])])
    assert set(json.loads(capsys.readouterr().out)) == {"tokens", "loss", "top1"}


@pytest.mark.parametrize("arch", ["rwkv", "gpt"])
def test_loss_by_position_random_models(arch, make_rwkv):
    from model.evaluate import long_sequences, loss_by_position
    from model.gpt import GPT, GPTConfig

    torch.manual_seed(0)
    V, eot = 50, 0
    model = make_rwkv(2, 16, V, seed=1) if arch == "rwkv" else GPT(GPTConfig(V, 2, 16, 2, ctx_len=8)).eval()
    g = torch.Generator().manual_seed(5)
    stories = [torch.randint(1, V, (int(n),), generator=g).tolist() for n in torch.randint(5, 30, (20,), generator=g)]
    max_len = 48  # six times the GPT's trained context
    buckets = ((0, 8), (8, 24), (24, 48), (48, 96))
    rows = loss_by_position(model, arch, stories, eot, max_len, buckets)
    seqs = long_sequences(stories, eot, max_len)
    assert len(seqs) >= 3 and all(len(s) == max_len + 1 for s in seqs)
    assert seqs[0][0] == eot and seqs[0][1 : 1 + len(stories[0])] == stories[0]
    assert [(r["from"], r["to"]) for r in rows] == list(buckets)
    assert [r["tokens"] for r in rows] == [8 * len(seqs), 16 * len(seqs), 24 * len(seqs), 0]
    assert rows[-1]["loss"] is None
    # per-token losses computed here, one sequence at a time
    per_pos = []
    with torch.no_grad():
        for s in seqs:
            out = model(torch.tensor([s[:-1]]))
            logits = (out[0] if arch == "rwkv" else out)[0]
            per_pos.append(torch.nn.functional.cross_entropy(logits, torch.tensor(s[1:]), reduction="none"))
    per_pos = torch.stack(per_pos)  # (n_seq, max_len)
    for r in rows[:-1]:
        expect = per_pos[:, r["from"] : r["to"]].mean().item()
        assert math.isfinite(r["loss"]) and abs(r["loss"] - expect) < 1e-5
    assert len(loss_by_position(model, arch, stories, eot, max_len, buckets, max_sequences=2)) == 4
    with pytest.raises(ValueError, match="not enough"):
        loss_by_position(model, arch, stories[:1], eot, 1000)


def test_train_device_flag(tiny_corpus, tmp_path, monkeypatch):
    """--device defaults to cpu without CUDA; asking for CUDA where there is none is a clear error."""
    import model.train as train_mod

    assert train_mod.default_device() == ("cuda" if torch.cuda.is_available() else "cpu")
    real_train = train_mod.train
    seen = {}
    monkeypatch.setattr(train_mod, "train", lambda *a, **kw: seen.update(kw) or {
        "validation": {}, "training": {"minutes": 0}})
    train_mod.main(["--arch", "rwkv", "--preset", "tiny", "--corpus", str(tiny_corpus), "--out", str(tmp_path / "x")])
    assert seen["device"] == train_mod.default_device()
    train_mod.main(["--arch", "rwkv", "--preset", "tiny", "--out", str(tmp_path / "x"), "--device", "cpu"])
    assert seen["device"] == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(SystemExit) as exc:
            train_mod.main(["--arch", "rwkv", "--preset", "tiny", "--device", "cuda"])
        assert exc.value.code == 2
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            real_train("rwkv", train_mod.PRESETS["tiny"], str(tiny_corpus), None, device="cuda")
