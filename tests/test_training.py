"""A few-second training run lowers the loss; saving, exporting and reloading lose nothing."""
from __future__ import annotations

import math
import subprocess
import sys

import pytest
import torch

from model.checkpoint import load_model, load_official_rwkv
from model.export_official import export_official

from conftest import REPO


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
        for (k, a), b in zip(run["model"].state_dict().items(), model.state_dict().values()):
            assert torch.equal(a, b), f"{arch}: {k}"


def test_export_official_then_reload_is_lossless(tiny_runs, tmp_path):
    trained = tiny_runs["rwkv"]["model"]
    path = export_official(tmp_path / "tiny.pth", tiny_runs["rwkv"]["stem"])
    again = load_official_rwkv(path)
    for (k, a), b in zip(trained.state_dict().items(), again.state_dict().values()):
        assert torch.equal(a, b), k
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
