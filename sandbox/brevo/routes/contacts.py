"""``/v3/contacts`` and ``/v3/contacts/{identifier}``: single-contact reads and writes.

Errors follow Brevo's ``contactErrorModel``: 400 ``invalid_parameter`` ("Invalid email",
"Invalid phone number"), 400 ``duplicate_parameter`` with ``metadata.duplicate_identifiers`` when an
email, SMS or ext_id belongs to another contact, 404 ``document_not_found`` "Contact does not exist".
Unknown attributes and wrong-typed values are dropped silently (see values.py). A create or upsert
is keyed on its email, else its ext_id, else its SMS (``Account.keyed``); the other identifiers
must be free or the same contact's, so an email changes only through ``PUT`` with ``attributes.EMAIL``.

``forceMerge`` (2026) is accepted and ignored: a conflict answers the 400 it answers without it.
"""

from __future__ import annotations

import re
from typing import Any

from sandbox.brevo import errors
from sandbox.brevo.params import (
    bool_field,
    int_arg,
    int_list_arg,
    int_list_field,
    sort_arg,
    time_arg,
)
from sandbox.brevo.state import BrevoState
from sandbox.brevo.store import IDENTIFIER_TYPES, Account, Contact
from sandbox.brevo.values import (
    IGNORED,
    coerce,
    is_blank,
    normalize_email,
    normalize_phone,
)
from sandbox.server import Request, Response

_FILTER = re.compile(r'^\s*equals\(\s*([A-Za-z0-9_-]+)\s*,\s*(?:"(.*)"|\'(.*)\'|([^"\']*?))\s*\)\s*$')


def duplicate_message(action: str, held: list[str]) -> str:
    names = " or ".join(name.upper() if name == "ext_id" else name for name in held)
    verb = "is" if len(held) == 1 else "are"
    return f"Unable to {action} contact, {names} {verb} already associated with another Contact"


def read_email(raw: Any) -> str | None:
    """None for a blank email; Brevo's 400 for an invalid one."""
    if is_blank(raw):
        return None
    email = normalize_email(raw)
    if email is None:
        errors.invalid("Invalid email")
    return email


def read_sms(raw: Any) -> str | None:
    if is_blank(raw):
        return None
    sms = normalize_phone(raw)
    if sms is None:
        errors.invalid("Invalid phone number")
    return sms


def read_ext_id(raw: Any) -> str | None:
    if is_blank(raw):
        return None
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        errors.invalid("ext_id should be type string")
    return str(raw).strip()


def known_lists(account: Account, list_ids: list[int], name: str) -> set[int]:
    missing = sorted(set(list_ids) - set(account.lists))
    if missing:
        errors.invalid(f"{name}: list(s) {missing} do not exist")
    return set(list_ids)


def attributes_field(body: dict[str, Any]) -> Any:
    attributes = body.get("attributes")
    if attributes is not None and not isinstance(attributes, dict):
        errors.invalid("attributes should be type object")
    return attributes


def identifier_type(request: Request) -> str | None:
    value = request.arg("identifierType")
    if value is not None and value not in IDENTIFIER_TYPES:
        errors.invalid(f"identifierType should be one of {', '.join(IDENTIFIER_TYPES)}")
    return value


def contact_filter(account: Account, expression: str) -> Any:
    """A predicate for ``filter=equals(ATTR,"value")``, the one operator Brevo allows."""
    found = _FILTER.match(expression)
    if not found:
        errors.invalid('filter should be of the form equals(ATTRIBUTE,"value")')
    name = found.group(1).upper()
    value = next(g for g in found.groups()[1:] if g is not None).strip()
    if name == "EMAIL":
        return lambda c: c.email == value.lower()
    if name == "SMS":
        wanted = normalize_phone(value) or value
        return lambda c: c.sms == wanted
    if name == "EXT_ID":
        return lambda c: c.ext_id == value
    spec = account.attributes.get(name)
    if spec is None:
        errors.invalid(f"filter: attribute {name} does not exist")
    if spec.type == "multiple-choice":
        options = {o.strip() for o in value.split(",") if o.strip()}
        return lambda c: options <= set(c.attributes.get(name) or ())
    wanted = coerce(spec, value, from_text=True)
    if wanted is IGNORED:
        return lambda c: False
    return lambda c: c.attributes.get(name) == wanted


def register(app: Any, state: BrevoState) -> None:
    account = state.account

    @app.route("POST", "/v3/contacts")
    def create_contact(request: Request) -> Response:
        body = errors.json_body(request)
        typed = account.typed_attributes(attributes_field(body))
        email = read_email(body["email"] if body.get("email") is not None else typed.email)
        ext_id = read_ext_id(body["ext_id"] if body.get("ext_id") is not None else typed.ext_id)
        sms = read_sms(typed.sms)
        if email is None and ext_id is None and sms is None:
            errors.missing("email, SMS or ext_id is mandatory to create a contact")
        list_ids = known_lists(account, int_list_field(body, "listIds"), "listIds")
        email_blacklisted = bool_field(body, "emailBlacklisted")
        sms_blacklisted = bool_field(body, "smsBlacklisted")
        update_enabled = bool_field(body, "updateEnabled") or False
        with account.lock:
            target = account.keyed(email, ext_id, sms)
            if target is None:
                held = account.conflicts(None, email, ext_id, sms)
                if held:
                    errors.duplicate(duplicate_message("create", held), held)
                contact = account.insert(email=email, ext_id=ext_id, sms=sms, values=typed.values,
                                         list_ids=list_ids, email_blacklisted=bool(email_blacklisted),
                                         sms_blacklisted=bool(sms_blacklisted))
                return Response.json({"id": contact.id}, status=201)
            if not update_enabled:
                held = account.conflicts(None, email, ext_id, sms)
                errors.duplicate(duplicate_message("create", held), held)
            held = account.conflicts(target, email, ext_id, sms)
            if held:
                errors.duplicate(duplicate_message("update", held), held)
            update(account, target, email, ext_id, sms, typed.values, list_ids, set(),
                   email_blacklisted, sms_blacklisted)
        return Response.empty(204)

    @app.route("GET", "/v3/contacts")
    def list_contacts(request: Request) -> Response:
        limit = int_arg(request, "limit", default=50, minimum=1, maximum=1000)
        offset = int_arg(request, "offset", default=0)
        descending = sort_arg(request)
        modified_since = time_arg(request, "modifiedSince")
        created_since = time_arg(request, "createdSince")
        ids = int_list_arg(request, "ids", max_items=20)
        list_ids = int_list_arg(request, "listIds")
        if list_ids is not None and request.arg("segmentId"):
            errors.invalid("Either listIds or segmentId can be passed, not both")
        if request.arg("segmentId"):
            errors.fail(400, "document_not_found", "Segment does not exist")
        expression = request.arg("filter")
        with account.lock:
            predicate = contact_filter(account, expression) if expression else None
            candidates = ([account.contacts[i] for i in sorted(set(ids)) if i in account.contacts]
                          if ids is not None else list(account.contacts.values()))
            wanted_lists = set(list_ids) if list_ids is not None else None
            found = [c for c in candidates
                     if (modified_since is None or c.modified_ms > modified_since)
                     and (created_since is None or c.created_ms > created_since)
                     and (wanted_lists is None or not wanted_lists.isdisjoint(c.list_ids))
                     and (predicate is None or predicate(c))]
            if descending:
                found.reverse()
            page = [account.view(c) for c in found[offset:offset + limit]]
        return Response.json({"contacts": page, "count": len(found)})

    @app.route("GET", "/v3/contacts/{identifier}")
    def get_contact(request: Request) -> Response:
        kind = identifier_type(request)
        with account.lock:
            contact = account.resolve(request.path_params["identifier"], kind)
            if contact is None:
                errors.not_found("Contact does not exist")
            return Response.json({**account.view(contact), "statistics": {}})

    @app.route("PUT", "/v3/contacts/{identifier}")
    def update_contact(request: Request) -> Response:
        kind = identifier_type(request)
        body = errors.json_body(request)
        typed = account.typed_attributes(attributes_field(body))
        email = read_email(typed.email)
        ext_id = read_ext_id(body["ext_id"] if body.get("ext_id") is not None else typed.ext_id)
        clear_sms = "SMS" in {str(k).upper() for k in (body.get("attributes") or {})} and is_blank(typed.sms)
        sms = read_sms(typed.sms)
        list_ids = known_lists(account, int_list_field(body, "listIds"), "listIds")
        unlink = set(int_list_field(body, "unlinkListIds"))
        email_blacklisted = bool_field(body, "emailBlacklisted")
        sms_blacklisted = bool_field(body, "smsBlacklisted")
        with account.lock:
            contact = account.resolve(request.path_params["identifier"], kind)
            if contact is None:
                errors.not_found("Contact does not exist")
            held = account.conflicts(contact, email, ext_id, sms)
            if held:
                errors.duplicate(duplicate_message("update", held), held)
            if clear_sms and (contact.email or contact.ext_id):
                account.set_identifiers(contact, sms=None)
            update(account, contact, email, ext_id, sms, typed.values, list_ids, unlink,
                   email_blacklisted, sms_blacklisted)
        return Response.empty(204)

    @app.route("DELETE", "/v3/contacts/{identifier}")
    def delete_contact(request: Request) -> Response:
        kind = identifier_type(request)
        with account.lock:
            contact = account.resolve(request.path_params["identifier"], kind)
            if contact is None:
                errors.not_found("Contact does not exist")
            account.delete(contact)
        return Response.empty(204)


def update(account: Account, contact: Contact, email: str | None, ext_id: str | None, sms: str | None,
           values: dict[str, Any], link: set[int], unlink: set[int],
           email_blacklisted: bool | None, sms_blacklisted: bool | None) -> None:
    """Apply a checked update. A new email lifts the email blocklisting unless the call sets it
    (Brevo: "If a blocklisted contact's email address is updated, ... they will be resubscribed")."""
    changes = {k: v for k, v in (("email", email), ("ext_id", ext_id), ("sms", sms)) if v is not None}
    email_changed = email is not None and email != contact.email
    account.set_identifiers(contact, **changes)
    account.set_values(contact, values)
    if email_changed and email_blacklisted is None:
        email_blacklisted = False
    account.set_flags(contact, email_blacklisted, sms_blacklisted)
    account.link_lists(contact, link)
    account.unlink_lists(contact, unlink)
