"""Checkpoint files: ``{"format": 1, "arch", "config", "state_dict", ...}``.

Plain containers and tensors only, so every file loads with
``torch.load(weights_only=True)``: no pickled classes. Modules are rebuilt by passing the
stored config, filtered to the constructor's signature, to the module class.
"""

from __future__ import annotations

import hashlib
import inspect
import io
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mtk.errors import BadModelError
from mtk.io.files import atomic_write

FORMAT = 1


def checkpoint_bytes(
    *, arch: str, config: Mapping[str, Any], state_dict: Mapping[str, Any], half: bool = False, **extra: Any
) -> bytes:
    """Serialise a checkpoint to bytes. ``half`` stores floating tensors as float16."""
    import torch

    tensors = {
        k: (v.detach().cpu().half() if half and v.is_floating_point() else v.detach().cpu())
        for k, v in state_dict.items()
    }
    payload = {"format": FORMAT, "arch": arch, "config": dict(config), "state_dict": tensors, **extra}
    buf = io.BytesIO()
    torch.save(payload, buf)
    return buf.getvalue()


def save_checkpoint(
    path: str | os.PathLike[str],
    *,
    arch: str,
    config: Mapping[str, Any],
    state_dict: Mapping[str, Any],
    force: bool = True,
    **extra: Any,
) -> Path:
    """Write a checkpoint atomically (training overwrites its own checkpoints by default)."""
    data = checkpoint_bytes(arch=arch, config=config, state_dict=state_dict, **extra)
    return atomic_write(path, data, force=force)


def load_checkpoint(path: str | os.PathLike[str], *, arch: str | None = None) -> dict[str, Any]:
    """Load a checkpoint with ``weights_only=True`` on the CPU and check its format/arch."""
    import torch

    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise BadModelError(f"{path}: no such checkpoint") from None
    except Exception as exc:  # torch raises a zoo of types for non-checkpoint files
        raise BadModelError(f"{path}: not a loadable mtk checkpoint ({type(exc).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise BadModelError(f"{path}: not an mtk checkpoint (format {FORMAT} expected)")
    if arch is not None and payload.get("arch") != arch:
        raise BadModelError(f"{path}: holds a {payload.get('arch')!r} model, expected {arch!r}")
    return payload


def build_module(cls: type, config: Mapping[str, Any]) -> Any:
    """Instantiate ``cls`` from a stored config, keeping only keys its constructor takes."""
    params = inspect.signature(cls).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return cls(**config)
    return cls(**{k: v for k, v in config.items() if k in params})


def release_name(name: str, data: bytes, *, ext: str = "pt") -> tuple[str, str]:
    """The content-addressed file name ``<name>-<sha256[:8]>.<ext>`` and the full sha256."""
    sha = hashlib.sha256(data).hexdigest()
    return f"{name}-{sha[:8]}.{ext}", sha


def export_release(
    checkpoint: str | os.PathLike[str], name: str, out_dir: str | os.PathLike[str], *, half: bool = False
) -> tuple[Path, str]:
    """Turn a training checkpoint into a release file; return its path and sha256.

    Only ``arch``, ``config`` and ``state_dict`` (and ``meta`` if present) are kept:
    optimiser state and training bookkeeping stay behind.
    """
    ckpt = load_checkpoint(checkpoint)
    extra = {"meta": ckpt["meta"]} if "meta" in ckpt else {}
    data = checkpoint_bytes(arch=ckpt["arch"], config=ckpt["config"], state_dict=ckpt["state_dict"], half=half, **extra)
    filename, sha = release_name(name, data)
    path = atomic_write(Path(out_dir) / filename, data, force=False)
    return path, sha


def release_copy(
    path: str | os.PathLike[str], name: str, out_dir: str | os.PathLike[str], *, ext: str | None = None
) -> tuple[Path, str]:
    """Copy a file that is already in its release form (an inference file a run wrote, an
    XGBoost booster) under its content-addressed name; return its path and sha256."""
    data = Path(path).read_bytes()
    filename, sha = release_name(name, data, ext=ext or Path(path).suffix.lstrip("."))
    return atomic_write(Path(out_dir) / filename, data, force=False), sha


def quantize_rows(weight: Any) -> dict[str, Any]:
    """Symmetric int8 per output row: ``{"q": int8 tensor, "scale": float32 (rows, 1)}``; the
    largest magnitude of each row maps to 127 (for the big linear layers shipped files keep)."""
    import torch

    w = weight.detach().float().cpu()
    scale = (w.abs().amax(dim=tuple(range(1, w.dim())), keepdim=True) / 127).clamp(min=1e-12)
    return {"q": torch.round(w / scale).to(torch.int8), "scale": scale}


def dequantize_rows(packed: Mapping[str, Any]) -> Any:
    return packed["q"].float() * packed["scale"].float()
