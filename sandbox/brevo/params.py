"""Reading query parameters and body fields the way Brevo validates them, with its 400s."""

from __future__ import annotations

from typing import Any

from sandbox.brevo import errors
from sandbox.brevo.values import parse_time_ms
from sandbox.server import Request


def int_arg(request: Request, name: str, *, default: int, minimum: int = 0, maximum: int | None = None) -> int:
    raw = request.arg(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        errors.invalid(f"{name} should be type integer")
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        errors.fail(400, "out_of_range", f"{name} should be {bound}")
    return value


def sort_arg(request: Request, default: str = "desc") -> bool:
    """True for descending, Brevo's default."""
    value = request.arg("sort") or default
    if value not in ("asc", "desc"):
        errors.invalid("sort should be equal to one of the allowed values: asc, desc")
    return value == "desc"


def list_arg(request: Request, name: str) -> list[str] | None:
    """A repeated (``ids=1&ids=2``) or comma-separated (``ids=1,2``) parameter; None when absent."""
    values = request.query.get(name)
    if not values:
        return None
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def int_list_arg(request: Request, name: str, *, max_items: int | None = None) -> list[int] | None:
    items = list_arg(request, name)
    if items is None:
        return None
    if not all(item.lstrip("-").isdigit() for item in items):
        errors.invalid(f"{name} should be an array of integers")
    if max_items is not None and len(items) > max_items:
        errors.invalid(f"{name} should NOT have more than {max_items} items")
    return [int(item) for item in items]


def time_arg(request: Request, name: str) -> int | None:
    """Epoch milliseconds of a date-time parameter; Brevo's 400 when it cannot be read."""
    raw = request.arg(name)
    if raw is None or raw == "":
        return None
    value = parse_time_ms(raw)
    if value is None:
        errors.invalid(f"{name} should be a valid date-time (YYYY-MM-DDTHH:mm:ss.SSSZ)")
    return value


def path_int(request: Request, name: str) -> int:
    raw = request.path_params[name]
    if not raw.isdigit():
        errors.invalid(f"{name} should be type integer")
    return int(raw)


def int_list_field(body: dict[str, Any], name: str) -> list[int]:
    """A body field holding an array of integers (absent means empty)."""
    value = body.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        errors.invalid(f"{name} should be type array")
    for index, item in enumerate(value):
        if not isinstance(item, int) or isinstance(item, bool):
            errors.invalid(f"{name}/{index} should be type number")
    return value


def bool_field(body: dict[str, Any], name: str) -> bool | None:
    value = body.get(name)
    if value is not None and not isinstance(value, bool):
        errors.invalid(f"{name} should be type boolean")
    return value
