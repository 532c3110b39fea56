"""Real scans (../shared/real-scans, used by path, never copied): a NIST handwriting sample
form, the kind of form MNIST's digits were cut from. Each digit field has the digits the
writer was asked to copy printed above it, so its truth is known."""

from __future__ import annotations

from pathlib import Path

import pytest

from digitize.output import read_entries
from digitize.scan import ScanOptions, scan

REAL_SCANS = Path(__file__).resolve().parents[2] / "shared" / "real-scans"
NIST_PAGE = REAL_SCANS / "nist_hsf_page.png"
# Reading order: three empty name/date boxes, then the digit fields row by row.
NIST_TRUTH = ["", "", "", "0123456789", "0123456789", "0123456789", "16", "899", "0124",
              "43744", "403875", "821", "7358", "55925", "116213", "86", "4949", "20044",
              "625502", "80", "681", "79192", "676687", "49", "213", "3055", "803797", "02",
              "791", "3678", "03536"]


@pytest.mark.skipif(not NIST_PAGE.is_file(), reason=f"{NIST_PAGE} not found")
def test_nist_form_digit_fields(tmp_path):
    out = tmp_path / "nist.csv"
    scan(ScanOptions(inputs=[str(NIST_PAGE)], out=out, workers=1))
    rows = read_entries(out)
    # The two alphabet fields at the bottom are no number fields; the digit fields come first.
    read = rows["value"].tolist()[: len(NIST_TRUTH)]
    right = sum(got == want for got, want in zip(read, NIST_TRUTH))
    assert right >= len(NIST_TRUTH) - 1, list(zip(read, NIST_TRUTH))
