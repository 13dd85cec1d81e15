"""How the Brevo sandbox reads emails, phone numbers, typed attribute values and times."""

from __future__ import annotations

import pytest

from sandbox.brevo.config import AttributeSpec
from sandbox.brevo.values import (
    IGNORED,
    coerce,
    iso_ms,
    normalize_email,
    normalize_phone,
    parse_time_ms,
)


@pytest.mark.parametrize(("raw", "expected"), [
    ("Ann.Lee@Example.COM ", "ann.lee@example.com"),
    ("a+tag@sub.example.org", "a+tag@sub.example.org"),
    ("no-at-sign.example.com", None),
    ("two@@example.com", None),
    ("dot.@example.com", None),
    ("ann@localhost", None),  # a domain needs a dot and a TLD
    ("ann@example.c", None),
    ("", None),
    (42, None),
])
def test_email_syntax(raw: object, expected: str | None) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("+33612345678", "+33612345678"),
    ("0033612345678", "+33612345678"),
    ("33612345678", "+33612345678"),
    (33612345678, "+33612345678"),
    ("+1 650 253 0000", None),  # separators are refused, as Brevo asks for digits only
    ("0612345678", None),  # no country code: read as +61 2345678..., not a valid number
    ("+3361234", None),
    ("phone", None),
    (True, None),
])
def test_phone_needs_country_code_and_is_stored_e164(raw: object, expected: str | None) -> None:
    assert normalize_phone(raw) == expected


TEXT = AttributeSpec("T", "normal", "text")
DATE = AttributeSpec("D", "normal", "date")
FLOAT = AttributeSpec("F", "normal", "float")
BOOL = AttributeSpec("B", "normal", "boolean")
CATEGORY = AttributeSpec("C", "category", "category", enumeration=((1, "Gold"), (2, "Silver")))
MULTI = AttributeSpec("M", "normal", "multiple-choice", options=("red", "blue"))
CALC = AttributeSpec("X", "calculated", None, formula="SUM(1)")


@pytest.mark.parametrize(("spec", "value", "expected"), [
    (TEXT, "hello", "hello"),
    (TEXT, 12, "12"),
    (TEXT, True, IGNORED),
    (TEXT, ["a"], IGNORED),
    (DATE, "2026-11-24", "2026-11-24"),
    (DATE, "24/11/2026", IGNORED),
    (DATE, "2026-11-24T10:00:00Z", IGNORED),
    (DATE, "2026-02-30", IGNORED),
    (FLOAT, 12.5, 12.5),
    (FLOAT, 3, 3),
    (FLOAT, "12.5", IGNORED),  # JSON strings are not numbers
    (FLOAT, True, IGNORED),
    (BOOL, False, False),
    (BOOL, "true", IGNORED),
    (CATEGORY, 2, 2),
    (CATEGORY, "gold", 1),  # a label, case-insensitive, is stored as its value
    (CATEGORY, "2", 2),
    (CATEGORY, "Bronze", IGNORED),
    (CATEGORY, 3, IGNORED),
    (MULTI, ["red", "blue", "red"], ["red", "blue"]),
    (MULTI, ["red", "green"], IGNORED),  # one unknown option drops the whole value
    (MULTI, "red", IGNORED),
    (CALC, 5, IGNORED),
])
def test_wrong_typed_values_are_ignored(spec: AttributeSpec, value: object, expected: object) -> None:
    assert coerce(spec, value) == expected


@pytest.mark.parametrize(("spec", "cell", "expected"), [
    (FLOAT, "12.5", 12.5),
    (FLOAT, "7", 7),
    (FLOAT, "seven", IGNORED),
    (BOOL, "TRUE", True),
    (BOOL, "no", False),
    (BOOL, "maybe", IGNORED),
    (MULTI, "red, blue", ["red", "blue"]),
])
def test_csv_cells_are_read_per_type(spec: AttributeSpec, cell: str, expected: object) -> None:
    assert coerce(spec, cell, from_text=True) == expected


def test_times_round_trip_at_millisecond_precision() -> None:
    ms = 1_795_000_000_123
    assert iso_ms(ms) == "2026-11-18T11:06:40.123Z"
    assert parse_time_ms(iso_ms(ms)) == ms
    assert parse_time_ms("2026-11-18T12:06:40.123+01:00") == ms
    assert parse_time_ms("2026-11-18T11:06:40.123") == ms  # naive is UTC
    assert parse_time_ms("2026-11-18") == 1_795_000_000_123 - (11 * 3600 + 6 * 60 + 40) * 1000 - 123
    assert parse_time_ms("yesterday") is None
