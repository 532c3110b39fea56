"""`digitize retrain` end to end on a small budget, the install guard, and the shipped model."""

from __future__ import annotations

import json
import subprocess
import zipfile

import numpy as np
import pytest
from typer.testing import CliRunner

from digitize.cli import app
from digitize.model_files import CARD_NAME, MODEL_NAME, SHIPPED_DIR, read_card
from digitize.tensorflow_startup import quiet_tensorflow_startup
from model_training.evaluate import evaluate
from model_training.mnist import canonical_checksums, load_split

REPORT_FILES = [
    "confusion_matrix.csv",
    "confusion_matrix.png",
    "per_class.csv",
    "training_curves.png",
    "search_results.csv",
]


@pytest.mark.slow
def test_quick_retrain_installs_nothing_worse_than_the_shipped_model(quick_retrain, tmp_path):
    run = subprocess.run(quick_retrain(force=False), capture_output=True, text=True, timeout=900)
    assert run.returncode == 4, run.stdout + run.stderr  # ExitCode.NOT_INSTALLED
    assert "Not installed" in run.stdout
    assert not (tmp_path / "models" / MODEL_NAME).exists()
    report = tmp_path / "search" / "quick" / "final"
    assert all((report / name).is_file() for name in REPORT_FILES)


@pytest.mark.slow
def test_forced_install_writes_model_card_and_report(quick_retrain, tmp_path, mnist_dir):
    run = subprocess.run(quick_retrain(force=True), capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout + run.stderr
    models = tmp_path / "models"
    assert sorted(p.name for p in models.iterdir()) == sorted(
        [MODEL_NAME, CARD_NAME, *REPORT_FILES]
    )
    card = json.loads((models / CARD_NAME).read_text())
    assert card["data"]["sha256"] == canonical_checksums()
    assert card["search"]["space"] == "quick" and card["search"]["trials"] == 4
    assert {"tensorflow", "keras", "keras_tuner"} <= set(card["versions"])
    assert card["command"].startswith("digitize retrain --space quick")
    assert set(card["hyperparameters"]) >= {"conv_blocks", "pooling", "kernel_size", "flip"}
    # The card's accuracy is the model's own, on the test split.
    with quiet_tensorflow_startup():
        import keras
    model = keras.models.load_model(models / MODEL_NAME, compile=False)
    assert evaluate(model, load_split(mnist_dir, "test")).accuracy == pytest.approx(
        card["test_accuracy"], abs=1e-6
    )


@pytest.mark.slow
@pytest.mark.model
def test_shipped_model_meets_its_promises(mnist_dir):
    card = read_card(SHIPPED_DIR)
    path = SHIPPED_DIR / MODEL_NAME
    assert path.stat().st_size <= 5 * 2**20
    with zipfile.ZipFile(path) as archive, archive.open("model.weights.h5") as weights:
        assert b"optimizer" not in weights.read()  # only what predicting needs
    with quiet_tensorflow_startup():
        import keras
    model = keras.models.load_model(path, compile=False)
    test = load_split(mnist_dir, "test")
    accuracy = evaluate(model, test).accuracy
    assert accuracy >= 0.996
    assert accuracy == pytest.approx(card["test_accuracy"], abs=1e-4)
    # Raw 0-255 pixels in: scaling is inside the model.
    probabilities = model.predict(
        test.images[:10].reshape(-1, 28, 28, 1).astype(np.float32), verbose=0
    )
    assert np.allclose(probabilities.sum(axis=1), 1, atol=1e-4)
    assert card["hyperparameters"]["flip"] is False


@pytest.mark.parametrize(
    "arguments, code, message",
    [
        (["--fix", "kernel=3"], 2, "unknown hyperparameter 'kernel'"),
        (["--space", "nope"], 2, "unknown search space 'nope'"),
        (["--mnist-dir", "/nonexistent"], 3, "MNIST directory not found"),
    ],
)
def test_retrain_errors_are_one_line(arguments, code, message, tmp_path):
    result = CliRunner().invoke(app, ["retrain", *arguments, "--search-dir", str(tmp_path)])
    assert result.exit_code == code
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert any(message in line for line in lines) and "Traceback" not in result.output


@pytest.mark.slow
def test_no_search_trains_the_installed_architecture_with_fixes(quick_retrain, tmp_path):
    run = subprocess.run(
        quick_retrain("--no-search", "--fix", "dropout=0.4"),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    card = read_card(tmp_path / "models")
    shipped = read_card(SHIPPED_DIR)["hyperparameters"]
    assert card["hyperparameters"] == {**shipped, "dropout": 0.4}
    assert card["search"]["space"] == "none" and card["search"]["trials"] == 0
