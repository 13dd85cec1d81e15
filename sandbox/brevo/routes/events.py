"""``/v3/events`` and ``/v3/events/batch``: record custom events; ``GET /v3/events`` reads them back.

An event's ``contact_properties`` update the named contact's attributes, with the same silent
typing as any contact write. Whether Brevo creates a contact for an unknown identifier is not
documented; the sandbox records the event without a ``contact_id`` and creates nothing.
A batch answers 202 when every event was queued, 207 ``partiallyQueued`` listing the refused
``eventIndex`` values per message, and 400 ``failed`` when none was; a batch over 200 events or
512 KB is refused whole, with the same body shape.
"""

from __future__ import annotations

from typing import Any

from sandbox.brevo import errors
from sandbox.brevo.events import batch_errors, batch_size_error, event_error
from sandbox.brevo.params import int_arg, list_arg
from sandbox.brevo.state import BrevoState
from sandbox.brevo.store import Account, Contact
from sandbox.brevo.values import parse_time_ms
from sandbox.server import Request, Response

ACCEPTED = "Batch accepted. Valid events have been added to the processing queue."


def event_contact(account: Account, identifiers: dict[str, Any]) -> Contact | None:
    """``contact_id`` takes priority over every other identifier (Brevo's docs)."""
    if identifiers.get("contact_id") is not None:
        return account.get(identifiers["contact_id"])
    for key, kind in (("email_id", "email_id"), ("ext_id", "ext_id"), ("phone_id", "phone_id"),
                      ("whatsapp_id", "whatsapp_id"), ("landline_number_id", "landline_number_id")):
        if identifiers.get(key):
            contact = account.resolve(str(identifiers[key]), kind)
            if contact is not None:
                return contact
    return None


def batch_failed(total: int, messages: list[dict[str, Any]], message: str | None = None) -> Response:
    body: dict[str, Any] = {"status": "failed", "total_events": total, "successful_events": 0,
                            "failed_events": total, "errors": messages}
    if message is not None:
        body["message"] = message
    return Response.json(body, status=400)


def register(app: Any, state: BrevoState) -> None:
    account = state.account

    def record(event: dict[str, Any], *, batch: bool) -> None:
        with account.lock:
            contact = event_contact(account, event["identifiers"])
            if contact is not None and event.get("contact_properties"):
                account.set_values(contact, account.typed_attributes(event["contact_properties"]).values)
            state.events.add(event, contact.id if contact else None, account.now_ms(), batch=batch)

    @app.route("POST", "/v3/events")
    def create_event(request: Request) -> Response:
        event = errors.json_body(request)
        message = event_error(event)
        if message is not None:
            errors.invalid(message)
        record(event, batch=False)
        return Response.empty(204)

    @app.route("POST", "/v3/events/batch")
    def create_events(request: Request) -> Response:
        try:
            body = request.json()
        except ValueError:
            body = None
        events = body.get("events") if isinstance(body, dict) else None
        if not isinstance(events, list):
            message = 'The body should be {"events": [...]}'
            return batch_failed(0, [{"eventIndex": [], "message": message}], message)
        too_big = batch_size_error(events, len(request.body))
        if too_big is not None:
            return batch_failed(len(events), [{"eventIndex": list(range(len(events))), "message": too_big}], too_big)
        refused = batch_errors(events)
        bad = {i for entry in refused for i in entry["eventIndex"]}
        for index, event in enumerate(events):
            if index not in bad:
                record(event, batch=True)
        if not bad:
            return Response.json({"message": ACCEPTED, "count": len(events)}, status=202)
        if len(bad) == len(events):
            return batch_failed(len(events), refused)
        return Response.json({"status": "partiallyQueued", "total_events": len(events),
                              "successful_events": len(events) - len(bad), "failed_events": len(bad),
                              "errors": refused}, status=207)

    @app.route("GET", "/v3/events")
    def get_events(request: Request) -> Response:
        limit = int_arg(request, "limit", default=100, minimum=1, maximum=10_000)
        offset = int_arg(request, "offset", default=0)
        contact_ids = list_arg(request, "contact_id")
        if contact_ids is not None and not all(i.isdigit() for i in contact_ids):
            errors.invalid("contact_id should be an array of integers")
        names = list_arg(request, "event_name")
        start, end = request.arg("startDate"), request.arg("endDate")
        if bool(start) != bool(end):
            errors.invalid("startDate and endDate should be passed together")
        start_ms = parse_time_ms(start) if start else None
        end_ms = parse_time_ms(end) if end else None
        if start and (start_ms is None or end_ms is None or start_ms > end_ms):
            errors.invalid("startDate and endDate should be dates (YYYY-MM-DD or RFC3339), startDate <= endDate")
        if end_ms is not None and len(end.strip()) == 10:  # a plain date covers its whole day
            end_ms += 86_400_000 - 1
        found = state.events.select(contact_ids={int(i) for i in contact_ids} if contact_ids else None,
                                    names=set(names) if names else None, start_ms=start_ms, end_ms=end_ms)
        return Response.json({"events": [e.view() for e in found[offset:offset + limit]], "count": len(found)})
