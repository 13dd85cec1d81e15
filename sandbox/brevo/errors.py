"""Brevo's error bodies, raised from anywhere in a handler.

Brevo answers errors in two shapes (research/brevo-api.md §8): the marketing API's
``{"code": "...", "message": "..."}`` (contact endpoints add ``metadata``), and the CRM endpoints'
``{"message": "..."}`` (the 2025 spec's examples: "Not valid data.", "Document not found"). The 2026
spec's schema for the CRM 400s requires a ``code`` as well, so a CRM 400 carries
``"code": "bad_request"`` next to its message; CRM 404s are message-only. Handlers raise
:class:`HTTPError` through these helpers so the shape is decided in one place.
"""

from __future__ import annotations

from typing import Any, NoReturn

from sandbox.server import HTTPError, Request, Response


def error_body(code: str, message: str, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if metadata is not None:
        body["metadata"] = metadata
    return body


def fail(status: int, code: str, message: str, metadata: dict[str, Any] | None = None) -> NoReturn:
    """Answer with Brevo's ``{code, message[, metadata]}``."""
    raise HTTPError(Response.json(error_body(code, message, metadata), status=status))


def invalid(message: str) -> NoReturn:
    fail(400, "invalid_parameter", message)


def missing(message: str) -> NoReturn:
    fail(400, "missing_parameter", message)


def not_found(message: str) -> NoReturn:
    fail(404, "document_not_found", message)


def duplicate(message: str, identifiers: list[str]) -> NoReturn:
    """An identifier (email, SMS, ext_id) already belongs to another contact."""
    fail(400, "duplicate_parameter", message, {"duplicate_identifiers": identifiers})


def crm_fail(status: int, message: str) -> NoReturn:
    """CRM endpoints (companies, crm attributes): ``{"message"}``, plus the ``code`` a 400 needs."""
    body = {"code": "bad_request", "message": message} if status == 400 else {"message": message}
    raise HTTPError(Response.json(body, status=status))


def json_body(request: Request, *, crm: bool = False) -> dict[str, Any]:
    """The request body as a JSON object, or Brevo's 400 when it is malformed or not an object."""
    try:
        raw = request.json()
    except ValueError:
        raw = None
    if not isinstance(raw, dict):
        if crm:
            crm_fail(400, "Not valid data.")
        invalid("Input must be a valid JSON object")
    return raw
