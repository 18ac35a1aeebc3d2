"""The devices that device-parametrised tests run on (imported by name: ``pythonpath = tests``)."""
from __future__ import annotations

import torch


def available_devices() -> list[str]:
    """``'cpu'``, plus ``'cuda'`` when torch sees a GPU.

    A device case exists only where it can run: CI without a GPU generates the CPU cases
    alone (no skipped CUDA case); a GPU machine (``benchmarks/gpu_check.sh``) gets both.
    """
    return ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])
