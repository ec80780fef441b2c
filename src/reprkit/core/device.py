"""Device resolution: ``auto`` means CUDA when present, else CPU."""

from __future__ import annotations

import torch

from reprkit.core import distributed


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Turn ``"auto" | "cpu" | "cuda" | "cuda:N"`` into a ``torch.device``, checking it exists
    (under torchrun, ``auto`` and ``cuda`` mean this process's own GPU)."""
    if isinstance(device, torch.device):
        device = str(device)
    if not isinstance(device, str):
        raise TypeError(f"device must be a string like 'auto', 'cpu' or 'cuda', got {device!r}")
    if device == "auto":
        return distributed.local_device(
            torch.device("cuda" if torch.cuda.is_available() else "cpu")
        )
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ValueError(
            f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}"
        ) from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was asked for but CUDA is not available here")
    return distributed.local_device(dev)


def device_name(device: torch.device) -> str:
    """Human-readable name of the device (GPU model or CPU model)."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return cpu_name()


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()
