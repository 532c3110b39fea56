"""Where the digit model lives: the shipped one inside the package, a retrained one per user.

`digitize retrain` installs into the user's model directory (never into site-packages), and
`digitize scan` prefers that over the shipped model. Both directories hold the same files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

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
    """The model card next to a model, or None when there is no model there."""
    path = Path(model_dir) / CARD_NAME
    if not path.is_file():
        return None
    return json.loads(path.read_text())
