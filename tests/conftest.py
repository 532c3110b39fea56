"""Shared fixtures. Tests never read or write the user's own model directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def isolated_user_models(tmp_path_factory, monkeypatch) -> Path:
    """An empty user model directory, so the shipped model is the active one."""
    directory = tmp_path_factory.mktemp("user-models")
    monkeypatch.setenv("DIGITIZE_MODEL_DIR", str(directory))
    return directory


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """Canonical MNIST: $DIGITIZE_MNIST_DIR, else ../shared/mnist beside the checkout."""
    directory = Path(os.environ.get("DIGITIZE_MNIST_DIR") or REPO.parent / "shared" / "mnist")
    if not (directory / "t10k-labels-idx1-ubyte.gz").is_file() and not (directory / "mnist.npz").is_file():
        pytest.fail(f"MNIST not found in {directory}: set DIGITIZE_MNIST_DIR")
    return directory
