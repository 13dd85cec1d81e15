"""How Brevo reads the values a client sends: emails, phone numbers, typed attributes, times.

All pure functions. The rules are Brevo's documented behaviour (research/brevo-api.md §1, §3):

- an email must be syntactically valid (no DNS look-up);
- an SMS number needs its country code, written ``+33...``, ``0033...`` or ``33...``, digits only;
  it is stored in E.164 (``+`` and digits);
- a value that does not fit its attribute's type is *silently ignored*, never an error: a date
  attribute takes ``YYYY-MM-DD`` only, a float attribute numbers, a boolean attribute booleans, a
  category attribute one of its enumeration values or labels, a multiple-choice attribute an array
  of its existing options.

CSV cells (an import's ``fileBody``) are text, so :func:`coerce` can read them with ``from_text``.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from typing import Any

import phonenumbers

from sandbox.brevo.config import AttributeSpec

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"^{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+(?:[A-Za-z]{{2,63}}|xn--[A-Za-z0-9-]{{1,59}})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INT = re.compile(r"^[+-]?\d+$")


def normalize_email(raw: Any) -> str | None:
    """The email trimmed and lower-cased, or None when it is not a valid address."""
    if not isinstance(raw, str):
        return None
    email = raw.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email) or len(email.split("@", 1)[0]) > 64:
        return None
    return email


@functools.lru_cache(maxsize=262_144)
def _normalize_phone_text(text: str) -> str | None:
    if text.startswith("+"):
        digits = text[1:]
    elif text.startswith("00"):
        digits = text[2:]
    else:
        digits = text
    if not digits.isascii() or not digits.isdigit() or not 6 <= len(digits) <= 15:
        return None
    try:
        number = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_phone(raw: Any) -> str | None:
    """E.164 for a valid number written with its country code (``+``, ``00`` or bare), else None."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        raw = str(raw)
    if not isinstance(raw, str):
        return None
    return _normalize_phone_text(raw.strip())


class _Ignored:
    """Marks a value Brevo drops without a word."""

    def __repr__(self) -> str:
        return "IGNORED"


IGNORED: Any = _Ignored()


def is_blank(value: Any) -> bool:
    """A value that asks to clear an attribute (JSON null or an empty string)."""
    return value is None or (isinstance(value, str) and value.strip() == "")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _text_to_number(text: str) -> int | float | Any:
    text = text.strip()
    if _INT.match(text):
        return int(text)
    try:
        number = float(text)
    except ValueError:
        return IGNORED
    return number if math.isfinite(number) else IGNORED


_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


def coerce(spec: AttributeSpec, value: Any, *, from_text: bool = False) -> Any:
    """The value Brevo stores for ``spec``, or :data:`IGNORED` when the type does not fit.

    Blank values are the caller's business (they clear or are skipped); pass non-blank ones.
    """
    kind = spec.type if spec.category != "category" else "category"
    if spec.category in ("calculated", "global"):
        return IGNORED  # computed by Brevo, never written
    if kind in ("text", "user"):
        if isinstance(value, str):
            return value
        if _is_number(value):
            return str(value)
        return IGNORED
    if kind == "date":
        if isinstance(value, str) and _DATE.match(value.strip()):
            try:
                return dt.date.fromisoformat(value.strip()).isoformat()
            except ValueError:
                return IGNORED
        return IGNORED
    if kind == "float":
        if _is_number(value):
            return value
        if from_text and isinstance(value, str):
            return _text_to_number(value)
        return IGNORED
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if from_text and isinstance(value, str):
            text = value.strip().lower()
            return True if text in _TRUE else False if text in _FALSE else IGNORED
        return IGNORED
    if kind == "id":
        if _is_number(value) and float(value).is_integer():
            return int(value)
        if isinstance(value, str) and _INT.match(value.strip()):
            return int(value)
        return IGNORED
    if kind == "category":
        return _category_value(spec, value)
    if kind == "multiple-choice":
        if from_text and isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list) and value and all(isinstance(v, str) and v in spec.options for v in value):
            return list(dict.fromkeys(value))
        return IGNORED
    return IGNORED


def _category_value(spec: AttributeSpec, value: Any) -> Any:
    """A category attribute takes an enumeration value (int or its digits) or a label."""
    if isinstance(value, bool):
        return IGNORED
    values = {v for v, _ in spec.enumeration}
    if isinstance(value, int) and value in values:
        return value
    if isinstance(value, str):
        text = value.strip()
        if _INT.match(text) and int(text) in values:
            return int(text)
        for v, label in spec.enumeration:
            if label.lower() == text.lower():
                return v
    return IGNORED


# ------------------------------------------------------------------------------ time
def now_ms() -> int:
    return int(dt.datetime.now(dt.UTC).timestamp() * 1000)


def iso_ms(ms: int) -> str:
    """Brevo's ``YYYY-MM-DDTHH:mm:ss.SSSZ`` (UTC) for epoch milliseconds."""
    moment = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def parse_time_ms(text: str) -> int | None:
    """Epoch milliseconds of an ISO 8601 date or date-time (naive means UTC), or None when invalid."""
    text = text.strip()
    if not text:
        return None
    try:
        if _DATE.match(text):
            moment = dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), dt.UTC)
        else:
            moment = dt.datetime.fromisoformat(text.replace(" ", "+") if "T" in text else text)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=dt.UTC)
    except ValueError:
        return None
    return int(moment.timestamp() * 1000)
