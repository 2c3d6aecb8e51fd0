"""``ember.backends`` and ``ember.accelerator`` against ``torch.backends`` / ``torch.accelerator``."""

import importlib
import inspect

import pytest

import ember
from ember.backend import flags
from tests.helpers import torch_or_skip


def test_cudnn_flags_are_shared_settings():
    from ember.backends import cudnn

    saved = flags.cudnn.snapshot()
    try:
        cudnn.benchmark = True
        cudnn.deterministic = True
        assert flags.cudnn.benchmark is True and flags.cudnn.deterministic is True
        assert ember.backends.cudnn.benchmark is True
        with cudnn.flags(enabled=False, benchmark=False):
            assert cudnn.enabled is False and flags.cudnn.benchmark is False
        assert cudnn.enabled is True and cudnn.benchmark is True
    finally:
        flags.cudnn.update(saved)
    assert cudnn.is_available() <= ember.cuda.is_available()
    assert (cudnn.version() is None) == (not cudnn.is_available())


def test_cuda_matmul_and_sdp_switches():
    cuda = ember.backends.cuda
    saved, sdp = flags.matmul.snapshot(), flags.sdp.snapshot()
    try:
        cuda.matmul.allow_tf32 = True
        cuda.matmul.allow_fp16_reduced_precision_reduction = False
        assert flags.matmul.allow_tf32 is True
        assert flags.matmul.allow_fp16_reduced_precision_reduction is False
        cuda.enable_flash_sdp(False)
        assert not cuda.flash_sdp_enabled()
        with cuda.sdp_kernel(enable_math=False):
            assert not cuda.math_sdp_enabled() and cuda.flash_sdp_enabled()
        assert cuda.math_sdp_enabled() and not cuda.flash_sdp_enabled()
    finally:
        flags.matmul.update(saved)
        flags.sdp.update(sdp)
    with pytest.raises(AttributeError, match="allow_tf33"):
        cuda.matmul.allow_tf33 = True
    assert cuda.is_built() == ember.cuda.is_available()


def test_probes_answer():
    assert ember.backends.mps.is_available() is False
    assert ember.backends.mps.is_built() is False
    assert isinstance(ember.backends.mkldnn.is_available(), bool)
    assert isinstance(ember.backends.openmp.is_available(), bool)
    assert ember.backends.mkldnn.enabled is True


def test_names_match_torch():
    torch = torch_or_skip()
    importlib.import_module("torch.backends.cudnn")

    for name in ("benchmark", "deterministic", "enabled", "allow_tf32"):
        assert getattr(ember.backends.cudnn, name) == getattr(torch.backends.cudnn, name), name
    for name in ("allow_tf32", "allow_fp16_reduced_precision_reduction"):
        assert getattr(ember.backends.cuda.matmul, name) == getattr(torch.backends.cuda.matmul, name)
    for name in (
        "is_built",
        "sdp_kernel",
        "enable_flash_sdp",
        "enable_math_sdp",
        "enable_mem_efficient_sdp",
        "flash_sdp_enabled",
        "math_sdp_enabled",
    ):
        assert callable(getattr(ember.backends.cuda, name)), name


def test_accelerator_matches_torch_api():
    torch = torch_or_skip()
    acc = ember.accelerator
    for name in acc.__all__:
        theirs = getattr(torch.accelerator, name, None)
        assert theirs is not None, name
        ours = [p.name for p in inspect.signature(getattr(acc, name)).parameters.values()]
        assert ours == list(inspect.signature(theirs).parameters), name
    if not torch.accelerator.is_available() and not acc.is_available():
        assert acc.current_accelerator() is None
        assert acc.device_count() == 0
        with pytest.raises(RuntimeError, match="none is available"):
            acc.current_device_index()
