"""Where the digit model lives: the shipped one inside the package, a retrained one per user.

`digitize retrain` installs into the user's model directory (never into site-packages), and
`digitize scan` prefers that over the shipped model. Both directories hold the same files.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from digitize.errors import ModelError
from digitize.messages import one_line
from digitize.records import ModelCard

MODEL_NAME = "digits.keras"
CARD_NAME = "digits.json"
SHIPPED_DIR = Path(__file__).parent / "models"
ENV_VAR = "DIGITIZE_MODEL_DIR"


def user_model_dir() -> Path:
    """$DIGITIZE_MODEL_DIR, else $XDG_DATA_HOME/digitize/models (~/.local/share/...)."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data_home) / "digitize" / "models"


def active_model_dir() -> Path:
    """The directory `digitize scan` loads from: a retrained model if any, else the shipped one."""
    user = user_model_dir()
    return user if (user / MODEL_NAME).is_file() else SHIPPED_DIR


def read_card(model_dir: Path) -> dict | None:
    """The model card next to a model as JSON, or None when there is none; ModelError (one
    line) when it is not JSON."""
    path = Path(model_dir) / CARD_NAME
    if not path.is_file():
        return None
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelError(f"{path}: cannot read the model card ({one_line(error)})") from None
    except RecursionError:  # nested deeper than the parser goes: no card digitize wrote
        raise ModelError(f"{path}: cannot read the model card (nested too deep)") from None
    if not isinstance(card, dict):
        raise ModelError(f"{path}: the model card is not a JSON object")
    if not isinstance(card.get("hyperparameters") or {}, dict):
        raise ModelError(f"{path}: the model card's hyperparameters are not a JSON object")
    return card


def model_card(model_dir: Path) -> ModelCard | None:
    """The typed model card next to a model, or None when there is none; ModelError (one
    line) when it is damaged."""
    card = read_card(model_dir)
    return None if card is None else ModelCard.from_json(card)


def describe_model(model_dir: Path) -> str:
    """Which model a scan used, in words: its folder, whether it is the shipped one, and its
    MNIST test accuracy from its card."""
    model_dir = Path(model_dir)
    which = "the shipped model" if model_dir.resolve() == SHIPPED_DIR.resolve() else "model"
    card = model_card(model_dir)
    accuracy = ""
    if card is not None and card.test_accuracy is not None:
        accuracy = f", MNIST test accuracy {card.test_accuracy:.2%}"
    return f"{which} in {model_dir}{accuracy}"


RETIRED_DIR = "retired"


def retire_user_model() -> Path | None:
    """Move the retrained model aside (into `retired/<time>/` beside it), so the shipped one
    is active again; the folder it went to, or None when there was no retrained model."""
    user = user_model_dir()
    if not (user / MODEL_NAME).is_file():
        return None
    target = user / RETIRED_DIR / time.strftime("%Y%m%dT%H%M%S")
    target.mkdir(parents=True, exist_ok=True)
    for name in (MODEL_NAME, CARD_NAME):
        if (user / name).exists():
            os.replace(user / name, target / name)
    return target
