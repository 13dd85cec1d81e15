"""Who a person is to Brevo: its email identity and its SMS number (CONTRACT §4, person_mapping).

Brevo keys a contact by email and holds one SMS number per contact, and drops a malformed value
without a word; so both are cleaned and checked here, before anything is sent:

- **email**: the primary entry of the person's ``emails`` (else the first), trimmed and
  lower-cased, syntax-checked with ``email_validator`` (no DNS: a run must not depend on the
  network, and a dead domain is a marketing matter, not a sync error). Internationalised local
  parts (``jöhn@...``) are refused, since Brevo's import does not accept them.
- **phone**: the primary entry of ``phones`` (else the first), parsed with ``phonenumbers`` and the
  mapping's ``default_phone_region`` for numbers written without a country code, kept only when
  it is a valid number, and written in E.164 (``+`` and digits). An extension (``x12``,
  ``ext. 12``, ``#12``, ``Durchwahl 12``) is dropped: an SMS cannot dial it.

Both checks are per *distinct* value and cached, so a million persons cost one check per
distinct address, not one per row. Reading the nested ``emails``/``phones`` lists is the one
per-row step: pandas has no vectorised access into lists of dicts.

Records come as the v2 API gives them (``emails``/``phones``: lists of ``{value, primary, label}``);
the v1 shape (``email``/``phone`` with the same items) and plain strings are read too, so webhook
payloads of either version go through the same code.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import numpy as np
import pandas as pd
import phonenumbers
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

#: Words people write before an extension, in the languages the data holds; phonenumbers knows
#: ``ext``, ``x`` and ``#`` but not these, and would refuse the whole number.
_EXTENSION_WORDS = re.compile(
    r"\s*(?:,|;)?\s*(?:durchwahl|dw\.?|poste|interno|int\.|doorkiesnummer|toestel|anknytning|wewn\.?)\s*(\d+)\s*$",
    re.IGNORECASE)


def primary_values(column: pd.Series) -> pd.Series:
    """The primary item's ``value`` of each row's list (else the first non-blank one), or NA.

    Tolerates every shape a record can carry: a list or array of ``{value, primary}`` dicts (v1
    and v2, also after a Parquet round trip), a plain list of strings, one string, or nothing.
    """
    return pd.Series([_primary(items) for items in column], index=column.index, dtype="object")


def _primary(items: Any) -> Any:
    if isinstance(items, str):
        return items if items.strip() else None
    if not isinstance(items, (list, tuple, np.ndarray)) or len(items) == 0:
        return None
    first = None
    for item in items:
        if isinstance(item, dict):
            value, primary = item.get("value"), bool(item.get("primary"))
        else:
            value, primary = item, False
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if primary:
            return value
        if first is None:
            first = value
    return first


def person_lists(persons: pd.DataFrame, v2_column: str, v1_column: str) -> pd.Series:
    """The ``emails`` (v2) column, falling back to ``email`` (v1) row by row when it is empty."""
    index = persons.index
    v2 = persons[v2_column] if v2_column in persons else pd.Series(None, index=index, dtype="object")
    if v1_column not in persons:
        return v2
    empty = v2.map(lambda items: not isinstance(items, (list, tuple, np.ndarray, str)) or len(items) == 0)
    return v2.where(~empty, persons[v1_column])


# -------------------------------------------------------------------------------------- emails

#: RFC 5322 dot-atom local part, ASCII only, as email_validator reads an unquoted local part.
_LOCAL = r"[a-z0-9_!#$%&'*+\-/=?^`{|}~]+(?:\.[a-z0-9_!#$%&'*+\-/=?^`{|}~]+)*"
_EMAIL_MAX = 254


@functools.lru_cache(maxsize=1_048_576)
def is_valid_email(email: str) -> bool:
    """Syntax only: no DNS look-up; internationalised local parts refused (Brevo does not take them)."""
    try:
        validate_email(email, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        return False
    return True


#: An ASCII domain email_validator accepts without a second look: letter-digit-hyphen labels, a
#: letter TLD, no ``--`` (Punycode and the "ab--" rule need the validator), not special-use.
_PLAIN_DOMAIN = r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
_SPECIAL_DOMAIN = "|".join(re.escape(d) for d in SPECIAL_USE_DOMAIN_NAMES)
_SPECIAL = rf"(?:^|\.)(?:{_SPECIAL_DOMAIN})$"


def valid_emails(text: pd.Series) -> pd.Series:
    """Which lower-cased addresses pass :func:`is_valid_email`, without calling it per address.

    email_validator costs ~20 µs an address (20 s for a million). Most addresses are a plain ASCII
    dot-atom local part at a plain ASCII domain, which the validator always accepts (when the
    whole address is at most 254 characters); those are recognised with two vectorised regular
    expressions. Anything else is checked by email_validator itself, once per distinct value, so
    the result is exactly the validator's (a property test holds the two paths to that).
    """
    present = (text.notna() & (text != "")).to_numpy()
    domain = text.str.extract(r"@([^@]*)$", expand=False)
    fast = (text.str.fullmatch(f"{_LOCAL}@{_PLAIN_DOMAIN}") & ~domain.str.contains("--", regex=False)
            & ~domain.str.contains(_SPECIAL, regex=True)
            & (domain.str.len() <= 253) & (text.str.len() <= _EMAIL_MAX)).fillna(False).to_numpy(dtype=bool)
    slow = present & ~fast
    checked = {value: is_valid_email(value) for value in text[slow].unique()}
    result = fast.copy()
    result[slow] = text[slow].map(checked).to_numpy(dtype=bool)
    return pd.Series(result, index=text.index)


def clean_emails(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """``(email, problem)`` per row: the trimmed, lower-cased address (NA when unusable) and
    ``no_email`` / ``invalid_email`` (NA when fine). ``raw`` holds one address (or None) per row."""
    text = raw.astype("string").str.strip().str.lower()
    blank = (text.isna() | (text == "")).to_numpy()
    valid = valid_emails(text).to_numpy()
    problem = pd.Series(pd.NA, index=raw.index, dtype="string")
    problem[blank] = "no_email"
    problem[~blank & ~valid] = "invalid_email"
    return text.where(valid & ~blank), problem


# -------------------------------------------------------------------------------------- phones

@functools.lru_cache(maxsize=1_048_576)
def to_e164(text: str, region: str | None) -> str | None:
    """One phone as E.164, or None when it is not a valid number (``region`` for local ones)."""
    cleaned = _EXTENSION_WORDS.sub(r" ext. \1", text.strip())
    if not cleaned:
        return None
    try:
        number = phonenumbers.parse(cleaned, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def clean_phones(raw: pd.Series, region: str | None) -> tuple[pd.Series, pd.Series]:
    """``(sms, invalid)`` per row: E.164 (NA when none or unusable) and whether a phone was given
    but could not be read (the field-level ``invalid_phone`` reject)."""
    text = raw.map(lambda v: v if isinstance(v, str) else (None if v is None or v != v else str(v)),
                   na_action="ignore").astype("string").str.strip()
    given = text.notna() & (text != "")
    # sorted, so numbers of one country follow each other: phonenumbers' patterns per region
    # then stay in the re module's small cache instead of being compiled again and again
    distinct = sorted(text[given].unique())
    parsed = {value: to_e164(value, region) for value in distinct}
    sms = text.map(parsed).astype("string")
    sms = sms.where(given)
    return sms, given & sms.isna()


def keep_newest(keys: pd.Series, update_time: pd.Series, ids: pd.Series) -> pd.Series:
    """For values shared by several rows, True on the row that keeps it: the latest
    ``update_time``, ties to the lowest id. Rows with an NA key are True (nothing to share).

    Used for the SMS rule: one number belongs to one Brevo contact only.
    """
    frame = pd.DataFrame({"key": keys, "t": update_time, "id": ids}, index=keys.index)
    has = frame["key"].notna()
    ordered = frame[has].sort_values(["key", "t", "id"], ascending=[True, False, True], kind="stable",
                                     na_position="last")
    keeper = ~ordered.duplicated("key", keep="first")
    result = pd.Series(True, index=keys.index)
    result.loc[ordered.index] = keeper
    return result


def first_ids(keys: pd.Series, ids: pd.Series, keep: pd.Series) -> pd.Series:
    """For each row, the id of the row that kept its key (``keep`` from :func:`keep_newest`)."""
    keepers = pd.Series(ids[keep & keys.notna()].to_numpy(), index=keys[keep & keys.notna()].to_numpy())
    return keys.map(keepers)


def identity_keys(persons: pd.DataFrame, region: str | None) -> pd.DataFrame:
    """Person id → the two values contacts are matched on: ``email`` (trimmed, lower-cased, not
    syntax-checked; NA when none) and ``sms`` (E.164 of the primary phone; NA when none or invalid).

    Persons that share either may decide each other's contact (the same contact, or who keeps a
    shared SMS number). The DAG keeps these keys beside the persons snapshot and updates the
    changed rows, so an incremental run finds every person it must rebuild
    (:func:`.contacts.affected_persons`) without reading every record again.
    """
    email = primary_values(person_lists(persons, "emails", "email")).astype("string").str.strip().str.lower()
    sms, _ = clean_phones(primary_values(person_lists(persons, "phones", "phone")), region)
    ids = pd.to_numeric(persons["id"], errors="coerce") if "id" in persons else pd.Series(dtype="float64")
    return pd.DataFrame({"email": email.mask(email == "").array, "sms": sms.array},
                        index=pd.Index(ids.astype("Int64"), name="person_id"))
