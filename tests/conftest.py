"""Shared fixtures.

PyTorch is a test-only dependency. Parity tests call :func:`require_torch`:
without torch they skip with a reason, unless ``BPROP_REQUIRE_TORCH=1`` (as
in CI), where a missing torch is a failure. The same holds for onnx,
onnxruntime and safetensors (the fixtures ``onnx``, ``ort``, ``safetensors``).
"""

import os
import signal

import numpy as np
import pytest

# Several tests send SIGINT (Ctrl-C) to a `bprop` child process and expect it to stop with exit code 130.
# A shell without job control starts a background job (`.ci/run &`, `nohup ... &`) with SIGINT ignored,
# and an ignored signal stays ignored across exec, so those children would never see it (Python keeps
# an inherited SIG_IGN, as every well-behaved Unix program does). A handled signal resets to its
# default on exec: handling it here gives every child the default disposition a terminal would.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def require_torch():
    """Return the ``torch`` module, or skip (fail under BPROP_REQUIRE_TORCH=1)."""
    try:
        import torch
    except ImportError:
        if os.environ.get("BPROP_REQUIRE_TORCH") == "1":
            pytest.fail("BPROP_REQUIRE_TORCH=1 but torch is not installed: pip install torch==2.13.0")
        pytest.skip("PyTorch is not installed; parity tests need it (pip install torch==2.13.0)")
    torch.set_default_dtype(torch.float64)
    return torch


def require_mpi() -> str:
    """The path of ``mpiexec`` once mpi4py imports, or skip (fail under BPROP_REQUIRE_MPI=1, as in CI)."""
    import shutil
    missing = None
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        missing = "mpi4py is not installed"
    mpiexec = shutil.which("mpiexec")
    if missing is None and mpiexec is None:
        missing = "mpiexec is not on PATH"
    if missing:
        if os.environ.get("BPROP_REQUIRE_MPI") == "1":
            pytest.fail(f"BPROP_REQUIRE_MPI=1 but {missing}: pip install mpich mpi4py")
        pytest.skip(f"{missing}; the MPI tests need it (pip install mpich mpi4py)")
    return mpiexec


@pytest.fixture
def torch():
    return require_torch()


def require_module(name: str, install: str):
    """Import ``name`` (a test-only package: onnx, onnxruntime, safetensors), or skip saying how to
    install it; under BPROP_REQUIRE_TORCH=1 (CI, which installs the ``test`` extra) fail instead."""
    import importlib
    try:
        return importlib.import_module(name)
    except ImportError:
        if os.environ.get("BPROP_REQUIRE_TORCH") == "1":
            pytest.fail(f"BPROP_REQUIRE_TORCH=1 but {name} is not installed: {install}")
        pytest.skip(f"{name} is not installed ({install})")


@pytest.fixture
def onnx():
    return require_module("onnx", "pip install -e '.[onnx]'")


@pytest.fixture
def ort():
    require_module("onnx", "pip install -e '.[onnx]'")
    return require_module("onnxruntime", "pip install onnxruntime, or -e '.[test]'")


@pytest.fixture
def safetensors():
    require_module("safetensors.numpy", "pip install -e '.[safetensors]'")
    import safetensors
    return safetensors


@pytest.fixture
def rng():
    """A fresh, seeded generator per test (never the global NumPy RNG)."""
    return np.random.default_rng(12345)


def data_dir():
    """``BPROP_DATA_DIR`` if set and present, else None."""
    d = os.environ.get("BPROP_DATA_DIR")
    return d if d and os.path.isdir(d) else None


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No BPROP_DATA_DIR, an empty cache under tmp_path, and a network that always fails."""
    import urllib.error

    from bprop.data import download

    monkeypatch.delenv("BPROP_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))

    def no_network(url, timeout=None):
        raise urllib.error.URLError("network is unreachable (test)")

    monkeypatch.setattr(download, "urlopen", no_network)
    return tmp_path
