"""Timestamps as Pipedrive writes them, and as the sandbox compares them.

Records keep the strings the API returns; indexes and filters compare epoch seconds, so
``2026-01-01T10:00:00Z``, ``2026-01-01T11:00:00+01:00`` and a lead's ``...00.000Z`` are one instant.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
MISSING = -math.inf  # where a record has no timestamp: sorts first, never inside a window


def to_epoch(value: str | None) -> float:
    """A record's timestamp in epoch seconds; naive ones (v1 ``YYYY-MM-DD HH:MM:SS``) are UTC."""
    if not value:
        return MISSING
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def parse_rfc3339(value: str) -> float:
    """A v2 query timestamp (``updated_since``): RFC 3339 with a zone, else ValueError."""
    if not _RFC3339.match(value):
        raise ValueError(value)
    return to_epoch(value.upper())


def parse_iso8601(value: str) -> float:
    """A v1 query timestamp: ISO 8601, a date or a naive time read as UTC, else ValueError."""
    return to_epoch(value)


def v2_timestamp(epoch: float) -> str:
    """``2026-11-20T10:15:00Z``: how v2 objects carry times (whole seconds)."""
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def millis_timestamp(epoch: float) -> str:
    """``2020-10-14T11:30:36.551Z``: how v1 leads and webhooks carry times (milliseconds)."""
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def utc_day(epoch: float) -> str:
    """The UTC date the daily budget belongs to (Pipedrive resets it at server midnight)."""
    return datetime.fromtimestamp(epoch, UTC).date().isoformat()
