"""digitize.scoring on small hand-made tables."""

from __future__ import annotations

import pandas as pd
import pytest

from digitize.errors import CsvError
from digitize.scoring import levenshtein, read_csv_for_scoring, score

TRUTH = [
    # file, page, field, value, x0, y0, x1, y1
    ("samples/forms/a.png", 1, "field_1", "0123", 0.10, 0.10, 0.40, 0.15),
    ("samples/forms/a.png", 1, "field_2", "77", 0.50, 0.10, 0.80, 0.15),
    ("samples/forms/a.png", 1, "field_3", "", 0.10, 0.30, 0.40, 0.35),
    ("samples/forms/b.pdf", 2, "field_1", "5", 0.20, 0.50, 0.30, 0.55),
]


def truth_frame() -> pd.DataFrame:
    return pd.DataFrame(TRUTH, columns=["file", "page", "field", "value", "x0", "y0", "x1", "y1"])


def output_frame(
    changes: dict[int, dict] | None = None, drop: tuple[int, ...] = ()
) -> pd.DataFrame:
    """The truth as a perfect, unflagged output, with some rows changed or dropped."""
    rows = []
    for index, row in truth_frame().iterrows():
        if index in drop:
            continue
        entry = {
            **row.to_dict(),
            "confidence": 0.99,
            "needs_review": "false",
            "digit_confidences": "",
            "crop": "",
        }
        entry.update((changes or {}).get(index, {}))
        rows.append(entry)
    return pd.DataFrame(rows)


def test_perfect_output_scores_everything():
    result = score(output_frame(), truth_frame())
    assert (result.fields, result.matched, result.exact, result.extra_rows) == (4, 4, 4, 0)
    assert result.field_recall == result.field_exact_match == result.digit_accuracy == 1.0
    assert result.flagged_share_of_wrong == 1.0  # nothing wrong, nothing to flag
    assert result.mistakes.empty
    assert "100.0 %" in result.summary()


def test_a_wrong_digit():
    result = score(output_frame({0: {"value": "0128"}}), truth_frame())
    assert result.exact == 3 and result.wrong == 1
    assert result.field_exact_match == 0.75
    assert result.digit_accuracy == pytest.approx(6 / 7)  # 7 truth digits, one wrong
    mistake = result.mistakes.iloc[0]
    assert (
        mistake["field"],
        mistake["truth_value"],
        mistake["output_value"],
        mistake["problem"],
    ) == ("field_1", "0123", "0128", "wrong")


def test_digit_accuracy_uses_edit_distance():
    # One digit missing in the middle costs one digit, not every digit after it.
    result = score(output_frame({0: {"value": "013"}}), truth_frame())
    assert result.correct_digits == 3 + 2 + 1
    assert levenshtein("013", "0123") == 1 and levenshtein("", "77") == 2


def test_a_missed_field_counts_as_wrong():
    result = score(output_frame(drop=(1,)), truth_frame())
    assert (result.matched, result.missed, result.exact, result.wrong) == (3, 1, 3, 0)
    assert result.field_recall == result.field_exact_match == 0.75
    assert result.digit_accuracy == pytest.approx(5 / 7)
    assert result.mistakes["problem"].tolist() == ["missed"]


def test_a_shifted_box_is_still_matched():
    # Shifted by a tenth of its width: IoU = 0.9 / 1.1, above 0.5.
    result = score(output_frame({0: {"x0": 0.13, "x1": 0.43}}), truth_frame())
    assert result.matched == 4 and result.exact == 4


def test_a_box_elsewhere_is_not_matched():
    result = score(output_frame({1: {"y0": 0.70, "y1": 0.75}}), truth_frame())
    assert result.matched == 3 and result.extra_rows == 1
    assert result.mistakes["field"].tolist() == ["field_2"]


def test_boxes_match_one_to_one_best_first():
    # Two outputs over field_1: the closer one wins; the other is an extra row.
    output = output_frame()
    near_copy = output.iloc[[0]].assign(x0=0.12, value="9999")
    result = score(pd.concat([near_copy, output], ignore_index=True), truth_frame())
    assert result.exact == 4 and result.extra_rows == 1


def test_flagged_shares():
    changes = {
        0: {"value": "0000", "needs_review": "true"},
        1: {"value": "71", "needs_review": "false"},
        3: {"needs_review": "true"},
    }
    result = score(output_frame(changes), truth_frame())
    assert (result.wrong, result.wrong_flagged, result.right_flagged) == (2, 1, 1)
    assert result.flagged_share_of_wrong == 0.5
    assert result.flagged_share_of_right == 0.5  # field_3 and field_1 of b.pdf are right


def test_another_directory_matches_by_file_name():
    output = output_frame()
    output["file"] = output["file"].str.replace("samples/forms/", "/home/me/scans/")
    assert score(output, truth_frame()).exact == 4


def test_empty_box_read_as_empty_is_right():
    result = score(output_frame(), truth_frame())
    assert result.mistakes.empty
    wrong = score(output_frame({2: {"value": "1"}}), truth_frame())
    assert wrong.wrong == 1 and wrong.mistakes.iloc[0]["truth_value"] == ""


def test_csv_round_trip_keeps_leading_zeros_and_blanks(tmp_path):
    path = tmp_path / "out.csv"
    output_frame().to_csv(path, index=False)
    frame = read_csv_for_scoring(path)
    assert frame["value"].tolist() == ["0123", "77", "", "5"]
    assert score(frame, truth_frame()).exact == 4


def test_missing_column_is_one_line(tmp_path):
    path = tmp_path / "out.csv"
    output_frame().drop(columns=["value", "y1"]).to_csv(path, index=False)
    with pytest.raises(CsvError, match=r"out\.csv: missing columns value, y1$"):
        read_csv_for_scoring(path)
    with pytest.raises(CsvError, match="output: missing columns needs_review"):
        score(output_frame().drop(columns=["needs_review"]), truth_frame())
