"""Does augmentation help? Test accuracy of the shipped architecture trained with no
augmentation, with the default augmentation, and with horizontal flips added: same
architecture, same data, same epoch budget.

    python benchmarks/augmentation.py [--mnist-dir DIR] [--train-limit 20000] [--epochs 8]

Writes benchmarks/results/augmentation.md (machine, versions, command, table).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from digitize.tensorflow_startup import quiet_tensorflow_startup
from report import write_results

with quiet_tensorflow_startup():
    import keras

from digitize.model_files import SHIPPED_DIR, read_card
from model_training.dataset import training_data
from model_training.evaluate import evaluate
from model_training.hypermodel import DigitHyperModel, fixed_hyperparameters, train_model
from model_training.mnist import load_split, resolve_mnist_dir

NO_AUGMENTATION = {"rotation": 0, "shift": 0.0, "zoom": 0.0, "flip": False}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist-dir", type=Path)
    parser.add_argument("--train-limit", type=int, default=20000)
    parser.add_argument("--epochs", type=int, default=8)
    args = parser.parse_args()
    mnist_dir = resolve_mnist_dir(args.mnist_dir)
    shipped = read_card(SHIPPED_DIR)["hyperparameters"]
    default = {name: shipped[name] for name in NO_AUGMENTATION}
    variants = {
        "none": NO_AUGMENTATION,
        "default": default,
        "default + horizontal flips": {**default, "flip": True},
    }
    data = training_data(mnist_dir, train_limit=args.train_limit)
    test = load_split(mnist_dir, "test")
    rows = []
    for name, augmentation in variants.items():
        keras.utils.set_random_seed(0)
        hp = fixed_hyperparameters({**shipped, **augmentation})
        started = time.perf_counter()
        model = DigitHyperModel().build(hp)
        history = train_model(model, hp, data.train, data.validation, args.epochs)
        accuracy = evaluate(model, test).accuracy
        settings = ", ".join(f"{k}={v}" for k, v in augmentation.items())
        rows.append(
            f"| {name} | {settings} | {accuracy:.2%} | {len(history.epoch)} | "
            f"{time.perf_counter() - started:.0f} s |"
        )

    write_results(
        "augmentation",
        "Augmentation: measured, not assumed",
        [
            f"Shipped architecture (hyperparameters from digitize/models/digits.json), "
            f"{len(data.train)} training digits, at most {args.epochs} epochs with early stopping, "
            "seed 0; accuracy on the 10,000 MNIST test digits.",
            "",
            "| augmentation | settings | test accuracy | epochs run | time |",
            "|---|---|---|---|---|",
            *rows,
        ],
    )


if __name__ == "__main__":
    main()
