"""Training the ensemble's extra members: the shipped split, other initial weights.

    python -m model_training.ensemble_members --mnist-dir ../shared/mnist --out DIR \
        --init-seed 1 [--fix kernel_size=3] [--epochs 20]

A member is trained on exactly the training digits of the shipped model (the split of seed 0)
so that no model of the ensemble trained on the 5,999 validation digits: the ensemble's rule
(when to consult the members) is chosen on them, never on the test split. (Every model's early
stopping watched them, so figures on them are a little optimistic.) Only the initial weights,
the shuffling and the augmentation draws differ (`--init-seed`), and, with `--fix`, the
architecture. The member is written as `member.keras` with a small card;
`benchmarks/ensemble.py --install` puts members beside the shipped model.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import keras

from digitize.errors import ModelError
from digitize.model_files import SHIPPED_DIR, read_card
from model_training.batch_norm import precise_batch_norm
from model_training.dataset import training_data
from model_training.evaluate import evaluate
from model_training.hypermodel import DigitHyperModel, fixed_hyperparameters, train_model
from model_training.mnist import resolve_mnist_dir
from model_training.search_space import parse_fixes

SHIPPED_SPLIT_SEED = 0  # the seed the shipped model's split was drawn with (its card's command)


def train_member(
    mnist_dir: Path | None,
    out_dir: Path,
    init_seed: int,
    fixes: list[str],
    epochs: int,
    train_limit: int | None = None,
) -> dict:
    """Train one member into `out_dir`; its card (also written there). `train_limit`
    shrinks the training digits (tests only)."""
    card = read_card(SHIPPED_DIR) or {}
    if not isinstance(card.get("hyperparameters"), dict):
        raise ModelError(f"{SHIPPED_DIR}: the shipped model's card names no hyperparameters")
    hyperparameters = fixed_hyperparameters({**card["hyperparameters"], **parse_fixes(fixes)})
    data = training_data(
        resolve_mnist_dir(mnist_dir), train_limit=train_limit, seed=SHIPPED_SPLIT_SEED
    )
    keras.utils.set_random_seed(init_seed)
    started = time.monotonic()
    model = DigitHyperModel().build(hyperparameters)
    history = train_model(model, hyperparameters, data.train, data.validation, epochs)
    batch_norm = precise_batch_norm(model, data)
    member_card = {
        "init_seed": init_seed,
        "split_seed": SHIPPED_SPLIT_SEED,
        "hyperparameters": hyperparameters.values,
        "epochs_run": len(history.epoch),
        "validation_accuracy": evaluate(model, data.validation).accuracy,
        "batch_norm_recomputed": batch_norm,
        "seconds": round(time.monotonic() - started, 1),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    clone = keras.Model.from_config(model.get_config())  # without the optimizer's slots
    clone.set_weights(model.get_weights())
    clone.save(out_dir / "member.keras")
    (out_dir / "member.json").write_text(json.dumps(member_card, indent=2) + "\n")
    return member_card


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist-dir", type=Path, default=None)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--init-seed", type=int, required=True)
    parser.add_argument("--fix", action="append", default=[], help="name=value (repeatable)")
    parser.add_argument("--epochs", type=int, default=20, help="at most (early stopping)")
    args = parser.parse_args()
    card = train_member(args.mnist_dir, args.out, args.init_seed, args.fix, args.epochs)
    print(json.dumps(card, indent=2), flush=True)


if __name__ == "__main__":
    main()
