"""Compute-device selection: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.

The spelling is checked without torch (:func:`check_device_spec`, used at parse time);
:func:`resolve_device` imports torch and is called inside command bodies.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from mtk.errors import DeviceError, UsageError

if TYPE_CHECKING:
    import torch

_SPEC = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def check_device_spec(spec: str) -> str:
    """Return ``spec`` if it is spelled ``auto|cpu|cuda|cuda:N``, else raise ``UsageError``."""
    if not _SPEC.match(spec):
        raise UsageError(f"invalid device {spec!r}", hint="use auto, cpu, cuda or cuda:N")
    return spec


def resolve_device(spec: str = "auto") -> torch.device:
    """Turn a device spelling into a ``torch.device`` that exists on this machine.

    ``auto`` picks ``cuda`` when a GPU is visible, else ``cpu``. Asking for a GPU that is not
    there raises :class:`DeviceError` (exit code 2) with a hint.
    """
    import torch

    check_device_spec(spec)
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if spec == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise DeviceError(
            f"device {spec!r} requested but no CUDA GPU is available",
            hint="use --device cpu or --device auto",
        )
    index = int(spec.split(":")[1]) if ":" in spec else 0
    count = torch.cuda.device_count()
    if index >= count:
        raise DeviceError(
            f"device {spec!r} requested but only {count} CUDA device(s) exist",
            hint=f"use cuda:0 to cuda:{count - 1}",
        )
    return torch.device("cuda", index)


def is_cpu(device: str | torch.device) -> bool:
    """Whether ``device`` (a string or a ``torch.device``, as :func:`resolve_device` returns) is
    the CPU. A ``torch.device("cpu")`` never equals the string ``"cpu"``, so compare this."""
    import torch

    return torch.device(device).type == "cpu"
