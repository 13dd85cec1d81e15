"""Query parameters read the way Pipedrive reads them: strictly on v2, and a 400 for a bad value.

Unknown parameters are never looked at (Pipedrive ignores them silently); a known one with a
value the API would refuse raises :func:`answers.fail` so the handler answers 400 in Pipedrive's
shape. The v2 cursor is here too: base64url JSON naming the sort field, its value and the id of
the first record of the next page, as the spec's example cursor decodes.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from sandbox.pipedrive import times
from sandbox.pipedrive.answers import fail
from sandbox.server import Request

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
MAX_IDS = 100
MAX_CUSTOM_FIELDS = 15


def _value(request: Request, name: str) -> str | None:
    value = request.arg(name)
    return None if value is None or value == "" else value


def limit(request: Request) -> int:
    raw = _value(request, "limit")
    if raw is None:
        return DEFAULT_LIMIT
    n = _int(raw, "limit")
    if n < 1 or n > MAX_LIMIT:
        raise fail(400, f"Validation failed: limit: Parameter 'limit' must be between 1 and {MAX_LIMIT}")
    return n


def start(request: Request) -> int:
    raw = _value(request, "start")
    n = 0 if raw is None else _int(raw, "start")
    if n < 0:
        raise fail(400, "Validation failed: start: Parameter 'start' must be 0 or greater")
    return n


def _int(raw: str, name: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise fail(400, f"Validation failed: {name}: Parameter '{name}' must be an integer") from None


def integer(request: Request, name: str) -> int | None:
    raw = _value(request, name)
    return None if raw is None else _int(raw, name)


def boolean(request: Request, name: str) -> bool | None:
    """v2 booleans are ``true``/``false`` only (migration guide: "validation is stricter")."""
    raw = _value(request, name)
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise fail(400, f"Validation failed: {name}: Parameter '{name}' must be a boolean (true or false)")
    return raw == "true"


def text(request: Request, name: str) -> str | None:
    return _value(request, name)


def names(request: Request, name: str, *, allowed: frozenset[str] | None = None,
          max_items: int | None = None) -> list[str]:
    """A comma-separated list; every item must be in ``allowed`` when given."""
    raw = _value(request, name)
    if raw is None:
        return []
    items = [item.strip() for item in raw.split(",") if item.strip()]
    if max_items is not None and len(items) > max_items:
        raise fail(400, f"Validation failed: {name}: at most {max_items} values are allowed")
    if allowed is not None:
        wrong = [item for item in items if item not in allowed]
        if wrong:
            raise fail(400, f"Validation failed: {name}: {', '.join(wrong)} not allowed; "
                            f"allowed: {', '.join(sorted(allowed))}")
    return items


def ids(request: Request) -> list[int] | None:
    raw = names(request, "ids", max_items=MAX_IDS)
    if not raw:
        return None
    return [_int(item, "ids") for item in raw]


def rfc3339(request: Request, name: str) -> float | None:
    raw = _value(request, name)
    if raw is None:
        return None
    try:
        return times.parse_rfc3339(raw)
    except ValueError:
        raise fail(400, f"Validation failed: {name}: Parameter '{name}' must be a date-time "
                        "in RFC3339 format, e.g. 2025-01-01T10:20:00Z") from None


def iso8601(request: Request, name: str) -> float | None:
    raw = _value(request, name)
    if raw is None:
        return None
    try:
        return times.parse_iso8601(raw)
    except ValueError:
        raise fail(400, f"Invalid {name}: expected ISO 8601, e.g. 2025-01-01T10:20:00Z") from None


def choice(request: Request, name: str, allowed: tuple[str, ...], default: str) -> str:
    raw = _value(request, name)
    if raw is None:
        return default
    if raw not in allowed:
        raise fail(400, f"Validation failed: {name}: Parameter '{name}' must be one of {', '.join(allowed)}")
    return raw


# ------------------------------------------------------------------ cursor
@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: the sort field's value and the id of its first record."""

    field: str
    value: Any
    direction: str
    id: Any

    def encode(self) -> str:
        raw = json.dumps({"field": self.field, "fieldValue": self.value, "sortDirection": self.direction,
                          "id": self.id}, separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def cursor(request: Request, *, field: str, direction: str) -> Cursor | None:
    """The request's cursor; it must belong to the same sort as the request, as Pipedrive checks."""
    raw = _value(request, "cursor")
    if raw is None:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        found = Cursor(data["field"], data["fieldValue"], data["sortDirection"], data["id"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise fail(400, "Validation failed: cursor: Invalid cursor") from None
    if found.field != field or found.direction != direction:
        raise fail(400, "Validation failed: cursor: the cursor belongs to another sort_by or sort_direction")
    return found
