"""``/__admin/brevo/...``: what tests, the demo and benchmarks read and set behind the API's back.

Unauthenticated and never rate-limited (``sandbox.server`` answers admin paths before anything
else). Dumps show everything the sandbox holds, including what the API does not show (ext_id and
SMS as fields, events' identifiers). ``POST /__admin/brevo/lists`` seeds a list with a given id,
as a real account already has the lists a mapping file names.
"""

from __future__ import annotations

from typing import Any

from sandbox.brevo.config import Window
from sandbox.brevo.state import BrevoState
from sandbox.brevo.values import normalize_email, normalize_phone
from sandbox.server import Request, Response


def _seed_list(state: BrevoState, item: Any) -> dict[str, Any]:
    if not isinstance(item, dict) or not isinstance(item.get("id"), int) or item["id"] < 1:
        raise ValueError('a list to seed is {"id": <positive int>, "name": ..., "folderId": ...}')
    folder_id = item.get("folderId", 1)
    if not isinstance(folder_id, int):
        raise ValueError("folderId should be an integer")
    contact_list = state.account.add_list(str(item.get("name") or f"List {item['id']}"), folder_id, item["id"])
    return state.account.list_view(contact_list)


def _seed_contact(state: BrevoState, item: Any) -> int:
    """Create or update a contact directly (a pre-existing account), by email, else ext_id, else SMS."""
    if not isinstance(item, dict):
        raise ValueError("a contact to seed is an object")
    account = state.account
    typed = account.typed_attributes(item.get("attributes") or {})
    raw_email = item.get("email") or typed.email
    email = normalize_email(raw_email) if raw_email else None
    if raw_email and email is None:
        raise ValueError(f"a seeded contact's email is not valid: {raw_email!r}")
    raw_ext_id = item.get("ext_id") or typed.ext_id
    ext_id = str(raw_ext_id) if raw_ext_id is not None else None
    sms = normalize_phone(typed.sms) if typed.sms else None
    if typed.sms and sms is None:
        raise ValueError(f"a seeded contact's SMS is not a valid number: {typed.sms!r}")
    if email is None and ext_id is None and sms is None:
        raise ValueError(f"a seeded contact needs an email, ext_id or SMS: {item!r}")
    list_ids = {i for i in item.get("listIds") or [] if i in account.lists}
    with account.lock:
        contact = account.keyed(email, ext_id, sms)
        if account.conflicts(contact, email, ext_id, sms):
            raise ValueError(f"a seeded contact's identifiers belong to another contact: {item!r}")
        if contact is None:
            contact = account.insert(email=email, ext_id=ext_id, sms=sms, values=typed.values, list_ids=list_ids,
                                     email_blacklisted=bool(item.get("emailBlacklisted")),
                                     sms_blacklisted=bool(item.get("smsBlacklisted")))
        else:
            account.set_identifiers(contact, **{k: v for k, v in (("email", email), ("ext_id", ext_id),
                                                                  ("sms", sms)) if v is not None})
            account.set_values(contact, typed.values)
            account.link_lists(contact, list_ids)
        return contact.id


def register(app: Any, state: BrevoState) -> None:
    account = state.account

    @app.admin("GET", "/brevo/contacts")
    def dump_contacts(_: Request) -> Response:
        with account.lock:
            contacts = [account.dump(c) for c in account.contacts.values()]
        return Response.json({"contacts": contacts, "count": len(contacts)})

    @app.admin("POST", "/brevo/contacts")
    def seed_contacts(request: Request) -> Response:
        body = request.json()
        items = body.get("contacts") if isinstance(body, dict) and "contacts" in body else [body]
        return Response.json({"ids": [_seed_contact(state, item) for item in items]}, status=201)

    @app.admin("GET", "/brevo/lists")
    def dump_lists(_: Request) -> Response:
        with account.lock:
            lists = [{**account.list_view(cl), "contactIds": sorted(cl.members)} for cl in account.lists.values()]
            folders = [account.folder_view(f) for f in account.folders.values()]
        return Response.json({"lists": lists, "folders": folders})

    @app.admin("POST", "/brevo/lists")
    def seed_lists(request: Request) -> Response:
        body = request.json()
        items = body.get("lists") if isinstance(body, dict) and "lists" in body else [body]
        with account.lock:
            return Response.json({"lists": [_seed_list(state, item) for item in items]}, status=201)

    @app.admin("GET", "/brevo/attributes")
    def dump_attributes(_: Request) -> Response:
        from sandbox.brevo.routes.attributes import attribute_view

        with account.lock:
            return Response.json({"attributes": [attribute_view(a) for a in account.attributes.values()]})

    @app.admin("GET", "/brevo/companies")
    def dump_companies(_: Request) -> Response:
        with state.companies.lock:
            companies = [c.view() for c in state.companies.companies.values()]
        return Response.json({"companies": companies, "count": len(companies)})

    @app.admin("GET", "/brevo/events")
    def dump_events(_: Request) -> Response:
        events = [e.dump() for e in state.events.all()]
        return Response.json({"events": events, "count": len(events)})

    @app.admin("GET", "/brevo/processes")
    def dump_processes(_: Request) -> Response:
        return Response.json({"processes": [{"id": p.id, "name": p.name, "status": p.status,
                                             "reports": sorted(p.reports), "figures": p.figures}
                                            for p in state.processes.all()]})

    @app.admin("GET", "/brevo/config")
    def get_config(_: Request) -> Response:
        return Response.json(config_view(state))

    @app.admin("POST", "/brevo/config")
    def set_config(request: Request) -> Response:
        """``{"limits_enabled": bool, "import_delay_s": float, "rate_limits": {"contacts": [[5, 1]]},
        "reset_limits": true}``; changing a bucket's windows starts its counting afresh."""
        body = request.json() or {}
        unknown = set(body) - {"limits_enabled", "import_delay_s", "rate_limits", "reset_limits"}
        if unknown:
            raise ValueError(f"unknown config key(s) {sorted(unknown)}")
        config = state.config
        if "rate_limits" in body:
            config.set_limits(body["rate_limits"])
        if "limits_enabled" in body:
            config.limits_enabled = bool(body["limits_enabled"])
        if "import_delay_s" in body:
            delay = float(body["import_delay_s"])
            if delay < 0:
                raise ValueError("import_delay_s should be >= 0")
            config.import_delay_s = delay
        if body.get("reset_limits"):
            state.limiter.reset()
        return Response.json(config_view(state))

    @app.admin("GET", "/brevo/usage")
    def usage(_: Request) -> Response:
        return Response.json(state.usage.report())


def config_view(state: BrevoState) -> dict[str, Any]:
    config = state.config

    def window(w: Window) -> dict[str, float]:
        return {"limit": w.limit, "seconds": w.seconds}

    return {"limits_enabled": config.limits_enabled, "import_delay_s": config.import_delay_s,
            "rate_limits": {bucket: [window(w) for w in windows] for bucket, windows in config.rate_limits.items()}}
