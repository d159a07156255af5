"""Checkpoint I/O for the project's own format: `NAME.safetensors` (weights) + `NAME.json` (config,
training record, SHA-256 of the weights file). Loading never executes pickle code.

Example:
    >>> model, meta = load_model("rwkv")          # doctest: +SKIP
    >>> meta["arch"]                              # doctest: +SKIP
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


def build_model(arch: str, config: dict, source: str = "checkpoint"):
    """The model for `arch` built from a config dict; bad configs raise `CheckpointError`."""
    if arch not in ("rwkv", "gpt"):
        raise CheckpointError(f"{source}: unknown architecture {arch!r} (expected 'rwkv' or 'gpt')")
    if not isinstance(config, dict):
        raise CheckpointError(f"{source}: `config` must be a JSON object, got {type(config).__name__}")
    cls, cfg_cls = (RWKV, RWKVConfig) if arch == "rwkv" else (GPT, GPTConfig)
    known = set(cfg_cls.__dataclass_fields__)
    unknown = sorted(set(config) - known)
    if unknown:
        raise CheckpointError(f"{source}: unknown {arch} config field(s) {unknown} (known: {sorted(known)})")
    try:
        return cls(cfg_cls(**config))
    except (TypeError, ValueError, RuntimeError, AssertionError, ZeroDivisionError) as exc:
        raise CheckpointError(f"{source}: invalid {arch} config {config}: {exc or type(exc).__name__}") from exc


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
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"checkpoint config is not valid JSON: {meta_path}") from exc
    if not isinstance(meta, dict):
        raise CheckpointError(f"checkpoint config {meta_path} must hold a JSON object, not {type(meta).__name__}")
    missing = [key for key in ("arch", "config") if key not in meta]
    if missing:
        raise CheckpointError(f"checkpoint config {meta_path} lacks {' and '.join(repr(k) for k in missing)}")
    name = meta.get("weights", stem.with_suffix(".safetensors").name)
    if not isinstance(name, str) or not Path(name).name:
        raise CheckpointError(f"checkpoint config {meta_path}: `weights` must be a file name, got {name!r}")
    weights = meta_path.parent / Path(name).name  # never outside the config's folder
    if not weights.is_file():
        raise CheckpointError(f"weights file not found: {weights}")
    if check_hash and meta.get("sha256") and sha256_file(weights) != meta["sha256"]:
        raise CheckpointError(f"SHA-256 of {weights.name} does not match its config: file corrupt or replaced")
    try:
        tensors = load_file(str(weights))
    except Exception as exc:  # safetensors raises several types for damaged files
        raise CheckpointError(f"cannot read {weights.name}: {exc}") from exc
    model = build_model(meta["arch"], meta["config"], meta_path.name)
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{weights.name} does not fit a {meta['arch']} model of this config: {exc}") from exc
    return model.eval(), meta


# ==================================================================================================
# Official RWKV-4 checkpoints (BlinkDL `.pth`) and Hugging Face `RwkvForCausalLM` safetensors.
#
# Official layout (shapes for L layers, width C, vocabulary V, channel-mixing width F = 4·C):
#     emb.weight (V, C)   blocks.0.ln0.{weight,bias} (C,)   blocks.N.ln1/ln2.{weight,bias} (C,)
#     blocks.N.att.time_decay (C,) raw w (the model uses −e^w)   blocks.N.att.time_first (C,)
#     blocks.N.att.time_mix_{k,v,r} (1, 1, C)   blocks.N.att.{key,value,receptance,output}.weight (C, C)
#     blocks.N.ffn.time_mix_{k,r} (1, 1, C)     blocks.N.ffn.key.weight (F, C)
#     blocks.N.ffn.receptance.weight (C, C)     blocks.N.ffn.value.weight (C, F)
#     ln_out.{weight,bias} (C,)   head.weight (V, C)
# Our module names are the same; only the time_mix_* shapes differ ((C,) here).
# ==================================================================================================

DEFAULT_OFFICIAL_CTX = 1024  # RWKV-4 Pile models were trained at 1024; only evaluation uses it


def _load_pth_safely(path: Path) -> dict:
    """`torch.load(weights_only=True)` with every failure turned into a `CheckpointError`.

    weights_only=True means the unpickler only builds tensors and plain containers: a pickle that
    asks for any other global (os.system, a class, ...) is refused before anything runs.
    """
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path.name} is empty (0 bytes): truncated download or failed save")
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError, EOFError, ...
        text = str(exc)
        if "GLOBAL" in text:
            detail = text[text.find("Trying to load"):].splitlines()[0] if "Trying to load" in text else "unsupported global"
            raise CheckpointError(
                f"refused {path.name}: its pickle asks to run code or build non-tensor objects "
                f"({detail}); nothing was executed. Only plain tensor dictionaries are accepted."
            ) from None
        with open(path, "rb") as f:
            is_zip = f.read(4) == b"PK\x03\x04"  # torch.save's format since PyTorch 1.6
        reason = text.split("WeightsUnpickler error:")[-1].strip() or type(exc).__name__
        reason = reason.splitlines()[0][:200]
        if is_zip or isinstance(exc, EOFError):
            raise CheckpointError(f"{path.name} is truncated or damaged (incomplete torch archive: {reason})") from None
        raise CheckpointError(f"{path.name} is corrupt or not a PyTorch checkpoint ({reason})") from None
    if not isinstance(obj, dict) or not obj:
        raise CheckpointError(f"{path.name} does not hold a dictionary of tensors (got {type(obj).__name__})")
    bad = [k for k, v in obj.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise CheckpointError(f"{path.name}: entries that are not tensors: {bad[:5]}")
    return obj


def rwkv_config_from_official(sd: dict, ctx_len: int = DEFAULT_OFFICIAL_CTX, source: str = "checkpoint") -> RWKVConfig:
    """Infer an `RWKVConfig` from official key shapes.

    Example:
        >>> sd = official_state_dict(RWKV(RWKVConfig(vocab_size=64, n_layer=2, n_embd=32)))
        >>> cfg = rwkv_config_from_official(sd)
        >>> (cfg.vocab_size, cfg.n_layer, cfg.n_embd, cfg.dim_ffn)
        (64, 2, 32, 128)
    """
    if "emb.weight" not in sd or sd["emb.weight"].dim() != 2:
        raise CheckpointError(f"{source}: no 2-D `emb.weight`; not an RWKV-4 checkpoint (keys: {sorted(sd)[:6]}...)")
    if any(".time_maa" in k or ".ln_x." in k or ".att.gate." in k for k in sd):
        raise CheckpointError(f"{source}: this is an RWKV-5/6 checkpoint (time_maa/ln_x/gate keys); only RWKV-4 is supported")
    vocab, C = sd["emb.weight"].shape
    layers = set()
    for k in sd:
        if k.startswith("blocks."):
            parts = k.split(".")
            if len(parts) < 3 or not (parts[1].isascii() and parts[1].isdigit()):
                raise CheckpointError(f"{source}: key {k!r} does not name a layer (expected blocks.N.*)")
            layers.add(int(parts[1]))
    if not layers:
        raise CheckpointError(f"{source}: no `blocks.N.*` keys")
    n_layer = max(layers) + 1
    missing_layers = sorted(set(range(n_layer)) - layers)
    if missing_layers:
        raise CheckpointError(f"{source}: layers {missing_layers} are missing (highest layer is {n_layer - 1})")
    fk = sd.get("blocks.0.ffn.key.weight")
    if fk is None or fk.dim() != 2:
        raise CheckpointError(f"{source}: missing or malformed `blocks.0.ffn.key.weight`")
    dim_ffn = fk.shape[0]
    if dim_ffn % C:
        raise CheckpointError(
            f"{source}: channel-mixing width {dim_ffn} is not a multiple of n_embd {C}; RWKVConfig "
            f"only supports ffn_mult·n_embd (official RWKV-4 uses 4·n_embd)"
        )
    att_k = sd.get("blocks.0.att.key.weight")
    if att_k is not None and att_k.shape[0] != C:
        raise CheckpointError(f"{source}: attention width {att_k.shape[0]} differs from n_embd {C}; not supported")
    return RWKVConfig(vocab_size=vocab, n_layer=n_layer, n_embd=C, ctx_len=ctx_len, ffn_mult=dim_ffn // C)


def rwkv_from_official_dict(sd: dict, ctx_len: int = DEFAULT_OFFICIAL_CTX, source: str = "checkpoint",
                            expect: RWKVConfig | None = None) -> RWKV:
    """Build our `RWKV` (fp32, eval mode) from an official-layout dict of tensors (any float dtype).

    `expect`: a config the checkpoint must match (shape errors name the first mismatching field).

    Example:
        >>> m = RWKV(RWKVConfig(vocab_size=64, n_layer=2, n_embd=32))
        >>> m2 = rwkv_from_official_dict(official_state_dict(m))
        >>> bool(torch.equal(m2.head.weight, m.head.weight))
        True
    """
    cfg = rwkv_config_from_official(sd, ctx_len, source)
    if expect is not None:
        for field_name in ("vocab_size", "n_layer", "n_embd", "ffn_mult"):
            got, want = getattr(cfg, field_name), getattr(expect, field_name)
            if got != want:
                raise CheckpointError(f"{source}: {field_name} is {got} in the checkpoint but {want} was expected")
    model = RWKV(cfg)
    own = model.state_dict()
    tensors = {}
    for key, value in sd.items():
        if not value.is_floating_point():
            raise CheckpointError(f"{source}: {key} has dtype {value.dtype}, expected a float tensor")
        if ".time_" in key and value.dim() == 3 and value.shape[:2] == (1, 1):
            value = value.reshape(-1)  # official [1,1,C] → our (C,)
        tensors[key] = value.to(torch.float32)
    missing = sorted(set(own) - set(tensors))
    unexpected = sorted(set(tensors) - set(own))
    if missing or unexpected:
        raise CheckpointError(
            f"{source}: keys do not match an RWKV-4 model of {cfg.n_layer} layers × {cfg.n_embd}: "
            f"missing {missing[:5]}{'...' if len(missing) > 5 else ''}, unexpected {unexpected[:5]}"
            f"{'...' if len(unexpected) > 5 else ''}"
        )
    wrong = [(k, tuple(tensors[k].shape), tuple(own[k].shape)) for k in own if tensors[k].shape != own[k].shape]
    if wrong:
        k, got, want = wrong[0]
        raise CheckpointError(f"{source}: {k} has shape {got}, expected {want} ({len(wrong)} tensors mismatch)")
    model.load_state_dict(tensors, strict=True)
    return model.eval()


def load_official_rwkv(path_pth: str | Path, ctx_len: int = DEFAULT_OFFICIAL_CTX,
                       expect: RWKVConfig | None = None) -> RWKV:
    """Load an official RWKV-4 `.pth` (fp32/bf16/fp16 → fp32) as our `RWKV`, without running pickle code.

    Example:
        >>> model = load_official_rwkv("RWKV-4-Pile-169M-20220807-8023.pth")   # doctest: +SKIP
        >>> model.cfg.n_layer, model.cfg.n_embd                                 # doctest: +SKIP
        (12, 768)
    """
    path = Path(path_pth)
    return rwkv_from_official_dict(_load_pth_safely(path), ctx_len, path.name, expect)


def official_state_dict(model: RWKV, dtype: torch.dtype = torch.float32) -> dict:
    """Our RWKV's weights in the official layout (plain dict of contiguous CPU tensors).

    Example:
        >>> sd = official_state_dict(RWKV(RWKVConfig(vocab_size=64, n_layer=2, n_embd=32)))
        >>> tuple(sd["blocks.1.att.time_mix_k"].shape), "blocks.0.ln0.weight" in sd
        ((1, 1, 32), True)
    """
    out = {}
    for key, value in model.state_dict().items():
        value = value.detach().to("cpu", dtype)
        if ".time_mix_" in key:
            value = value.reshape(1, 1, -1)
        out[key] = value.contiguous().clone()
    return out


# ---------------------------------------------------------------- Hugging Face RwkvForCausalLM
_HF_RENAMES = [  # (official fragment, HF fragment), applied in this order official → HF
    ("blocks.0.ln0.", "blocks.0.pre_ln."),
    (".att.", ".attention."),
    (".ffn.", ".feed_forward."),
    (".time_mix_k", ".time_mix_key"),
    (".time_mix_v", ".time_mix_value"),
    (".time_mix_r", ".time_mix_receptance"),
]


def official_key_to_hf(key: str) -> str:
    """`blocks.3.att.time_mix_k` → `rwkv.blocks.3.attention.time_mix_key` (transformers' converter).

    Example:
        >>> official_key_to_hf("emb.weight"), official_key_to_hf("head.weight")
        ('rwkv.embeddings.weight', 'head.weight')
    """
    if key == "head.weight":
        return key
    if key.startswith("emb."):
        key = "embeddings." + key[len("emb."):]
    for old, new in _HF_RENAMES:
        key = key.replace(old, new)
    return "rwkv." + key


def hf_key_to_official(key: str) -> str:
    """Inverse of `official_key_to_hf`; also accepts keys without the `rwkv.` prefix (RwkvModel).

    Example:
        >>> hf_key_to_official("rwkv.blocks.0.pre_ln.bias")
        'blocks.0.ln0.bias'
    """
    if key.startswith("rwkv."):
        key = key[len("rwkv."):]
    if key.startswith("embeddings."):
        key = "emb." + key[len("embeddings."):]
    for old, new in reversed(_HF_RENAMES):
        key = key.replace(new, old)
    return key


def hf_state_dict(model: RWKV) -> dict:
    """Our weights under `RwkvForCausalLM` names (time_mix_* as [1,1,C], as HF stores them)."""
    return {official_key_to_hf(k): v for k, v in official_state_dict(model).items()}


def load_hf_rwkv(path: str | Path, ctx_len: int | None = None) -> RWKV:
    """Load Hugging Face `RwkvForCausalLM` safetensors (a file, or a directory with config.json).

    HF stores weights unscaled (its `rescale_every` halving happens at inference time), so the
    tensors map one to one onto the official layout.

    Example:
        >>> model = load_hf_rwkv("rwkv-4-169m-pile/")        # doctest: +SKIP
    """
    p = Path(path)
    if p.is_dir():
        files = sorted(p.glob("*.safetensors"))
        config_path = p / "config.json"
        if not files:
            raise CheckpointError(f"no *.safetensors file in {p}")
    else:
        if not p.is_file():
            raise CheckpointError(f"checkpoint not found: {p}")
        files, config_path = [p], p.parent / "config.json"
    sd = {}
    for f in files:
        try:
            part = load_file(str(f))
        except Exception as exc:
            raise CheckpointError(f"cannot read {f.name} (truncated or corrupt safetensors): {exc}") from None
        sd.update({hf_key_to_official(k): v for k, v in part.items()})
    hf_cfg = {}
    if config_path.is_file():
        try:
            hf_cfg = json.loads(config_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise CheckpointError(f"{config_path} is not valid JSON") from exc
    if "head.weight" not in sd and hf_cfg.get("tie_word_embeddings") and "emb.weight" in sd:
        sd["head.weight"] = sd["emb.weight"]
    ctx = ctx_len or hf_cfg.get("context_length") or DEFAULT_OFFICIAL_CTX
    model = rwkv_from_official_dict(sd, ctx, p.name)
    checks = {"vocab_size": model.cfg.vocab_size, "hidden_size": model.cfg.n_embd,
              "num_hidden_layers": model.cfg.n_layer, "intermediate_size": model.cfg.dim_ffn,
              "attention_hidden_size": model.cfg.n_embd}
    for name, got in checks.items():
        want = hf_cfg.get(name)
        if want is not None and want != got:
            raise CheckpointError(f"{p.name}: config.json says {name}={want} but the weights have {got}")
    return model
