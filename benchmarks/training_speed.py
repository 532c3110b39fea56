"""Training speed and accuracy: seconds per epoch (first and steady) of the shipped
architecture on the full training split, seconds per trial of the `quick` grid, and the
shipped model's test accuracy recomputed from MNIST.

    python benchmarks/training_speed.py [--mnist-dir DIR] [--epochs 3]

Writes benchmarks/results/training_speed.md (machine, versions, command, figures).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from digitize.tensorflow_startup import quiet_tensorflow_startup
from report import write_results

with quiet_tensorflow_startup():
    import keras

from digitize.model_files import MODEL_NAME, SHIPPED_DIR, read_card
from model_training import search
from model_training.dataset import training_data
from model_training.evaluate import evaluate
from model_training.hypermodel import DigitHyperModel, fixed_hyperparameters, train_model
from model_training.mnist import load_split, resolve_mnist_dir
from model_training.search_space import load_space


class EpochTimer(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist-dir", type=Path)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--quick-train-limit", type=int, default=2000)
    args = parser.parse_args()
    mnist_dir = resolve_mnist_dir(args.mnist_dir)
    card = read_card(SHIPPED_DIR)

    data = training_data(mnist_dir)
    hp = fixed_hyperparameters(card["hyperparameters"])
    timer = EpochTimer()
    # Early stopping needs more epochs than this to act: every epoch runs.
    train_model(DigitHyperModel().build(hp), hp, data.train, data.validation, args.epochs, [timer])
    steady = sum(timer.seconds[1:]) / max(1, len(timer.seconds) - 1)

    with tempfile.TemporaryDirectory() as scratch:
        quick = training_data(mnist_dir, train_limit=args.quick_train_limit)
        tuner = search.make_tuner(load_space("quick"), Path(scratch))
        search.run_search(tuner, quick.train, quick.validation, epochs=3)
        trials = search.results_table(tuner)

    shipped = keras.models.load_model(SHIPPED_DIR / MODEL_NAME, compile=False)
    accuracy = evaluate(shipped, load_split(mnist_dir, "test")).accuracy

    write_results(
        "training_speed",
        "Training speed and accuracy",
        [
            "| measure | value |",
            "|---|---|",
            f"| shipped architecture, first epoch on {len(data.train)} digits (graph tracing included) | {timer.seconds[0]:.1f} s |",
            f"| shipped architecture, steady epoch (mean of epochs 2-{args.epochs}) | {steady:.1f} s |",
            f"| `quick` grid: {len(trials)} trials on {args.quick_train_limit} digits, 3 epochs, mean per trial | {trials['seconds'].mean():.1f} s |",
            f"| shipped model, MNIST test accuracy (10,000 digits, recomputed) | {accuracy:.2%} |",
            f"| shipped model file size | {(SHIPPED_DIR / MODEL_NAME).stat().st_size / 2**20:.2f} MiB |",
        ],
    )


if __name__ == "__main__":
    main()
