"""Rejects: one row per record or field that is not sent to Brevo, and why.

Every transform returns its rejects in this one shape so the sync can concatenate them, write them
under ``rejects/`` and count them in the run summary, and so an operator can filter one file by
``reason`` to see what to fix in Pipedrive. Nothing is lost silently (DESIGN, principles).

Columns, all text (``string`` dtype) so a reject of any entity fits one Parquet schema:

=========  =====================================================================================
entity     what the row is about: ``person``, ``deal``, ``activity``, ``organization``,
           ``event`` or ``attribute`` (a mapped Brevo attribute that cannot be sent at all)
id         the record's id as text (a person id, a deal id, an event id, an attribute name)
field      the mapping source or record field concerned (``email``, ``phone``, ``currency``,
           ``custom_fields.lead_source``); empty when the whole record is rejected
reason     a short snake_case code, one of :data:`REASONS`
value      the offending value as text (empty when there is none)
detail     optional context: for ``duplicate_email`` and ``shared_phone`` the id of the person
           that kept the email or number; otherwise a short explanation or empty
=========  =====================================================================================

A record-level reject (``no_email``, ``invalid_email``, ``duplicate_email``) means the person is not
a contact of its own; a field-level one (``invalid_phone``, ``shared_phone``, ``invalid_date``, ...)
means the contact is sent without that value; a ``no_currency_rate`` deal is left out of the LTV.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from pipedrive_brevo.transform import fields

COLUMNS: tuple[str, ...] = ("entity", "id", "field", "reason", "value", "detail")

#: Every reason code the transforms write, with what it means (the README can quote this table).
REASONS: dict[str, str] = {
    "no_email": "the person has no email address, so it cannot be a Brevo contact",
    "invalid_email": "the person's primary (else first) email fails the syntax check",
    "duplicate_email": "another person with the same email was updated more recently (or has the lower id); "
                       "detail names the person whose attributes were sent",
    "invalid_phone": "the phone could not be read as a valid number; the contact is sent without SMS",
    "shared_phone": "a more recently updated contact has the same number; detail names it",
    "no_currency_rate": "a won deal in a currency without a rate in options.currency; left out of the LTV",
    "unknown_option": "an enum or set value names an option the field does not have",
    "invalid_number": "the value cannot be read as a number for a float attribute",
    "invalid_date": "the value cannot be read as a date for a date attribute",
    "invalid_boolean": "the value cannot be read as true or false for a boolean attribute",
    "missing_attribute": "the Brevo attribute does not exist and options.create_missing_attributes is false",
    "no_contact": "the event's person is not a synced contact, so Brevo cannot attach it to anyone",
    "properties_too_large": "the event's properties are over Brevo's 50 KB limit",
    "no_name": "the organization has no name, which a Brevo company requires",
}


def empty() -> pd.DataFrame:
    """A rejects frame with no rows (and the right columns and dtypes)."""
    return pd.DataFrame({column: pd.Series(dtype="string") for column in COLUMNS})


def make(entity: str, ids: Iterable[Any], reason: str, *, field: str = "",
         values: Iterable[Any] | Any = "", detail: Iterable[Any] | Any = "") -> pd.DataFrame:
    """Rejects of one kind for many records at once (vectorised: ids and values are columns).

    ``values`` and ``detail`` are either one scalar for every row or one item per id. Missing
    values (None, NaN, NA) become empty text, so the frame never holds nulls.
    """
    if reason not in REASONS:
        raise ValueError(f"unknown reject reason {reason!r}; add it to REASONS with its meaning")
    id_series = pd.Series(list(ids) if not isinstance(ids, pd.Series) else ids.to_numpy(), dtype="object")
    n = len(id_series)
    if n == 0:
        return empty()

    def column(items: Iterable[Any] | Any) -> pd.Series:
        if isinstance(items, str) or not isinstance(items, Iterable):
            return pd.Series([items] * n, dtype="object")
        return pd.Series(list(items) if not isinstance(items, pd.Series) else items.to_numpy(), dtype="object")

    frame = pd.DataFrame({
        "entity": entity,
        "id": id_series,
        "field": field,
        "reason": reason,
        "value": column(values),
        "detail": column(detail),
    })
    return _as_text(frame)


def concat(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """All rejects in one frame, in the order given, with a fresh index."""
    parts = [f for f in frames if len(f)]
    if not parts:
        return empty()
    return _as_text(pd.concat(parts, ignore_index=True))


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Every column as ``string`` with nulls as "" (whole floats without ``.0``: an id 3.0 reads "3")."""
    out = pd.DataFrame(index=frame.index)
    for column in COLUMNS:
        series = frame[column] if column in frame else pd.Series("", index=frame.index)
        if isinstance(series.dtype, pd.StringDtype):
            text = series.astype("string")
        else:
            text = pd.Series(fields.per_distinct(series, _text), index=series.index, dtype="string")
        out[column] = text.fillna("")
    return out.reset_index(drop=True)


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value)
    return str(value)
