"""Real scans (../shared/real-scans, used by path, never copied): a NIST handwriting sample
form, the kind of form MNIST's digits were cut from (each digit field has the digits the
writer was asked to copy printed above it, so its truth is known), and a customer form with
comb boxes, faintly printed, holding letters and digits."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from digitize.output import read_table
from digitize.scan import ScanOptions, scan

pytestmark = pytest.mark.model  # real handwriting needs the real model

REAL_SCANS = Path(__file__).resolve().parents[2] / "shared" / "real-scans"
NIST_PAGE = REAL_SCANS / "nist_hsf_page.png"
CUSTOMER_FORM = REAL_SCANS / "customer_form_comb.png"
# Its all-digit combs, read by eye: account number, flat no, pin code, phone (office),
# extension, mobile, PAN. The other combs hold names, an address, an e-mail.
CUSTOMER_NUMBERS = [
    "8900123456789001",
    "8811",
    "07860",
    "541754891",
    "1234",
    "1234567890",
    "1234567890",
]
# Reading order: three empty name/date boxes, then the digit fields row by row.
NIST_TRUTH = [
    "",
    "",
    "",
    "0123456789",
    "0123456789",
    "0123456789",
    "16",
    "899",
    "0124",
    "43744",
    "403875",
    "821",
    "7358",
    "55925",
    "116213",
    "86",
    "4949",
    "20044",
    "625502",
    "80",
    "681",
    "79192",
    "676687",
    "49",
    "213",
    "3055",
    "803797",
    "02",
    "791",
    "3678",
    "03536",
]


@pytest.mark.skipif(not NIST_PAGE.is_file(), reason=f"{NIST_PAGE} not found")
def test_nist_form_digit_fields(tmp_path):
    out = tmp_path / "nist.csv"
    scan(ScanOptions(inputs=[str(NIST_PAGE)], out=out, workers=1))
    rows = read_table(out)
    # The two alphabet fields at the bottom are no number fields; the digit fields come first.
    read = rows["value"].tolist()[: len(NIST_TRUTH)]
    right = sum(got == want for got, want in zip(read, NIST_TRUTH))
    assert right >= len(NIST_TRUTH) - 1, list(zip(read, NIST_TRUTH))


@pytest.mark.skipif(not CUSTOMER_FORM.is_file(), reason=f"{CUSTOMER_FORM} not found")
def test_customer_form_comb_fields(tmp_path):
    out = tmp_path / "customer.csv"
    scan(ScanOptions(inputs=[str(CUSTOMER_FORM)], out=out, workers=1))
    rows = read_table(out)
    found = Counter(rows["value"]) & Counter(CUSTOMER_NUMBERS)
    # 6 of 7 today: the mobile number's 2 (its base on the bottom rule) is read as 7, and
    # flagged. Whole combs are found even where the faint print broke a rule (the PAN's
    # first cell, the phone's last ones), and hairline dividers are no 1s.
    assert sum(found.values()) >= 6, rows[["field", "value"]].to_string()
