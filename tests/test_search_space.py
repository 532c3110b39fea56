"""Named search spaces are data; names and values are checked against the hypermodel."""

from __future__ import annotations

import pytest

from digitize.errors import UsageError
from model_training.search_space import SearchSpaceError, available_spaces, load_space, parse_fixes


def test_seed_and_quick_exist():
    assert {"seed", "quick", "narrow"} <= set(available_spaces())


def test_seed_space_tunes_the_architecture():
    space = load_space("seed")
    assert {
        "conv_blocks",
        "filters",
        "kernel_size",
        "padding",
        "activation",
        "pooling",
        "dropout",
    } <= set(space.tuned)
    assert space.fixed["flip"] is False
    assert space.grid_size() == 3 * 3 * 2 * 2 * 2 * 3 * 3


def test_fixed_and_tuned_become_keras_tuner_entries():
    hp = load_space("quick").hyperparameters()
    entries = {entry.name: entry for entry in hp.space}
    assert type(entries["filters"]).__name__ == "Fixed"
    assert type(entries["pooling"]).__name__ == "Choice"
    assert list(entries["pooling"].values) == ["max", "average"]


def test_fix_pins_an_entry_and_removes_it_from_the_grid():
    space = load_space("quick")
    pinned = space.with_fixed(parse_fixes(["pooling=average"]))
    assert pinned.fixed["pooling"] == "average" and "pooling" not in pinned.tuned
    assert pinned.grid_size() == space.grid_size() // 2


def test_fix_values_take_the_declared_types():
    assert parse_fixes(["dropout=0.4", "conv_blocks=3", "flip=true", "padding=valid"]) == {
        "dropout": 0.4,
        "conv_blocks": 3,
        "flip": True,
        "padding": "valid",
    }


@pytest.mark.parametrize(
    "pin, message",
    [
        ("kernel=3", "unknown hyperparameter 'kernel'"),
        ("conv_blocks=two", "conv_blocks takes a int"),
        ("flip=maybe", "flip takes a bool"),
        ("dropout", "expected name=value"),
    ],
)
def test_bad_fix_is_one_line(pin, message):
    with pytest.raises(SearchSpaceError, match=message) as error:
        parse_fixes([pin])
    assert isinstance(error.value, UsageError) and error.value.exit_code == 2


def test_unknown_space_lists_the_available_ones():
    with pytest.raises(SearchSpaceError, match=r"available: .*quick"):
        load_space("nope")


def test_space_file_with_unknown_entry(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text("[tuned]\nkernal_size = [3, 5]\n")
    with pytest.raises(SearchSpaceError, match="unknown hyperparameter 'kernal_size'"):
        load_space(str(path))


def test_tune_new_entries_widens_the_grid(tmp_path):
    path = tmp_path / "open.toml"
    path.write_text("tune_new_entries = true\n[tuned]\nkernel_size = [3, 5]\n")
    assert load_space(str(path)).grid_size() > 2
