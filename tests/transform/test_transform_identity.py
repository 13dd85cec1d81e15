"""Identity rules: the primary (else first) email, trimmed, lower-cased, syntax-checked; phones to
E.164 with the default region; the newest row keeps a shared value."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipedrive_brevo.transform.identity import (
    clean_emails,
    clean_phones,
    is_valid_email,
    keep_newest,
    person_lists,
    primary_values,
    to_e164,
    valid_emails,
)


def items(*values: str, primary: int | None = None) -> list[dict]:
    return [{"value": v, "primary": i == primary, "label": "work"} for i, v in enumerate(values)]


def test_primary_email_wins_even_when_it_is_not_first():
    column = pd.Series([items("first@x.example", "main@x.example", "third@x.example", primary=1)])
    assert primary_values(column).tolist() == ["main@x.example"]


def test_without_a_primary_flag_the_first_email_is_taken():
    column = pd.Series([items("first@x.example", "second@x.example")])
    assert primary_values(column).tolist() == ["first@x.example"]


def test_a_blank_primary_falls_back_to_the_first_non_blank_value():
    column = pd.Series([[{"value": "  ", "primary": True}, {"value": "b@x.example", "primary": False}]])
    assert primary_values(column).tolist() == ["b@x.example"]


def test_every_shape_a_record_can_carry_is_read():
    import numpy as np
    column = pd.Series([
        None, [], "plain@x.example", ["a@x.example", "b@x.example"],
        np.array([{"value": "arr@x.example", "primary": True}], dtype=object),  # after a Parquet round trip
    ])
    assert primary_values(column).tolist() == [None, None, "plain@x.example", "a@x.example", "arr@x.example"]


def test_v1_email_column_is_used_when_v2_emails_is_absent_or_empty():
    persons = pd.DataFrame({"emails": [[], items("v2@x.example", primary=0)],
                            "email": [items("v1@x.example", primary=0), items("ignored@x.example", primary=0)]})
    assert primary_values(person_lists(persons, "emails", "email")).tolist() == ["v1@x.example", "v2@x.example"]


def test_emails_are_trimmed_and_lower_cased_and_problems_named():
    raw = pd.Series(["  John.Doe@Example.COM ", None, "", "anna müller@x.example", "jöhn@x.example",
                     "a@x", "ok+tag@sub.x.example"])
    email, problem = clean_emails(raw)
    assert email.tolist() == ["john.doe@example.com", pd.NA, pd.NA, pd.NA, pd.NA, pd.NA, "ok+tag@sub.x.example"]
    assert problem.tolist() == [pd.NA, "no_email", "no_email", "invalid_email", "invalid_email", "invalid_email", pd.NA]


@pytest.mark.parametrize(("address", "valid"), [
    ("a@b.example", True),
    ("user@münchen.example", True),        # an internationalised domain is fine
    ("jöhn@x.example", False),             # an internationalised local part is not (Brevo refuses it)
    ("a..b@x.example", False),
    ("a.@x.example", False),
    ("a@@x.example", False),
    ("a@x.example.", False),
    ("x@localhost", False),
    ("x@host.local", False),               # special-use domain
    ("a@ab--c.example", False),            # "--" at positions 3-4 is kept for Punycode
    ("a@abc--d.example", True),            # elsewhere it is fine (both checked by the validator itself)
    ("a@xn--mnchen-3ya.de", True),         # Punycode, checked by the validator
])
def test_valid_emails_agrees_with_email_validator(address: str, valid: bool):
    assert is_valid_email(address) is valid
    assert valid_emails(pd.Series([address], dtype="string")).tolist() == [valid]


_ATOM = st.text(alphabet="abcxyz019._-+!#'~ öé@", min_size=0, max_size=12)
_LABEL = st.text(alphabet="abcz09-", min_size=0, max_size=10)


@settings(max_examples=300, deadline=None)
@given(local=_ATOM, labels=st.lists(_LABEL, min_size=1, max_size=4), tld=st.sampled_from(
    ["example", "com", "de", "local", "x", "c0m", "onion", "123", "xn--p1ai"]))
def test_the_fast_path_gives_exactly_the_validators_answer(local: str, labels: list[str], tld: str):
    address = f"{local}@{'.'.join(labels)}.{tld}".lower()
    assert valid_emails(pd.Series([address], dtype="string")).tolist() == [is_valid_email(address)]


@pytest.mark.parametrize(("raw", "region", "expected"), [
    ("+49 30 1234567", None, "+49301234567"),
    ("+49 (0)30 1234567", None, "+49301234567"),
    ("030 1234567", "DE", "+49301234567"),           # local number, default region
    ("030 1234567", None, None),                      # local number without a region: unreadable
    ("0049 30 1234567", "DE", "+49301234567"),
    ("+49 171 8338948 x32", None, "+491718338948"),   # extension dropped
    ("+33 6 16 17 84 15 ext. 351", None, "+33616178415"),
    ("+49 89 33074481 Durchwahl 491", None, "+498933074481"),
    ("+1 415 478 6636 #269", None, "+14154786636"),
    ("n/a", "DE", None),
    ("+49 12", "DE", None),                           # too short to be a number
])
def test_phones_to_e164(raw: str, region: str | None, expected: str | None):
    assert to_e164(raw, region) == expected


def test_clean_phones_flags_only_given_but_unreadable_numbers():
    sms, invalid = clean_phones(pd.Series(["030 1234567", None, "", "call reception", 4930123456]), "DE")
    assert sms.tolist() == ["+49301234567", pd.NA, pd.NA, pd.NA, "+4930123456"]
    assert invalid.tolist() == [False, False, False, True, False]


def test_keep_newest_keeps_the_latest_update_and_breaks_ties_by_lowest_id():
    keys = pd.Series(["+1", "+1", "+1", "+2", "+2", None], dtype="string")
    times = pd.to_datetime(pd.Series(["2026-01-01", "2026-03-01", "2026-03-01", "2026-01-01", None, "2026-01-01"]),
                           utc=True)
    ids = pd.Series([5, 9, 7, 1, 2, 3])
    # +1: ids 9 and 7 share the latest time -> 7; +2: id 2 has no time, so the dated id 1 keeps it
    assert keep_newest(keys, times, ids).tolist() == [False, False, True, True, False, True]
