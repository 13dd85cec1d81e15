"""``/v3/contacts/attributes``: list, create, extend and delete contact attributes.

Brevo's type rules (research/brevo-api.md §3): ``user`` and ``multiple-choice`` only in the
*normal* category, ``id`` only in *transactional*, ``category`` only in *category*; a category
attribute needs its ``enumeration``, a multiple-choice one its ``multiCategoryOptions``, a
calculated or global one its formula ``value``; option labels are at most 200 characters. Names
are case-insensitive and stored upper-case; an existing name is a 400. ``PUT`` adds options.
"""

from __future__ import annotations

import re
from typing import Any

from sandbox.brevo import errors
from sandbox.brevo.config import AttributeSpec
from sandbox.brevo.state import BrevoState
from sandbox.server import Request, Response

CATEGORIES = ("normal", "transactional", "category", "calculated", "global")
TYPES_BY_CATEGORY = {
    "normal": ("text", "date", "float", "boolean", "multiple-choice", "user"),
    "transactional": ("text", "date", "float", "boolean", "id"),
    "category": ("category",),
}
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,50}$")
MAX_LABEL = 200


def attribute_view(spec: AttributeSpec) -> dict[str, Any]:
    """As ``GET /contacts/attributes`` lists it. The spec knows no ``category`` type, so a category
    attribute is shown as text with its enumeration; ``valueStr`` is the value as a string (2026)."""
    body: dict[str, Any] = {"name": spec.name, "category": spec.category}
    if spec.type is not None and spec.category not in ("calculated", "global"):
        body["type"] = "text" if spec.type == "category" else spec.type
    if spec.enumeration:
        body["enumeration"] = [{"value": v, "label": label, "valueStr": str(v)} for v, label in spec.enumeration]
    if spec.options:
        body["multiCategoryOptions"] = list(spec.options)
    if spec.formula is not None:
        body["calculatedValue"] = spec.formula
    return body


def read_enumeration(raw: Any) -> tuple[tuple[int, str], ...]:
    if not isinstance(raw, list) or not raw:
        errors.invalid("enumeration should be a non-empty array of {value, label}")
    items = []
    for index, item in enumerate(raw):
        value, label = (item.get("value"), item.get("label")) if isinstance(item, dict) else (None, None)
        if not isinstance(value, int) or isinstance(value, bool) or not isinstance(label, str) or not label:
            errors.invalid(f"enumeration/{index} should have an integer value and a label")
        if len(label) > MAX_LABEL:
            errors.invalid(f"enumeration/{index}/label should NOT be longer than {MAX_LABEL} characters")
        items.append((value, label))
    return tuple(items)


def read_options(raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw or not all(isinstance(o, str) and o.strip() for o in raw):
        errors.invalid("multiCategoryOptions should be a non-empty array of strings")
    too_long = [o for o in raw if len(o) > MAX_LABEL]
    if too_long:
        errors.invalid(f"multiCategoryOptions should NOT be longer than {MAX_LABEL} characters")
    return tuple(dict.fromkeys(o.strip() for o in raw))


def new_attribute(category: str, name: str, body: dict[str, Any]) -> AttributeSpec:
    """Check a create request against Brevo's rules and build the attribute."""
    if category not in CATEGORIES:
        errors.invalid(f"attributeCategory should be one of {', '.join(CATEGORIES)}")
    if not _NAME.match(name):
        errors.invalid("attributeName should be 1-50 letters, digits, '_' or '-'")
    kind = body.get("type")
    if category in ("calculated", "global"):
        formula = body.get("value")
        if not isinstance(formula, str) or not formula.strip():
            errors.missing("value is mandatory for a calculated or global attribute")
        return AttributeSpec(name.upper(), category, None, formula=formula)
    if kind is None:
        kind = "category" if category == "category" else "text"
    if kind not in TYPES_BY_CATEGORY[category]:
        errors.invalid(f"type {kind!r} is not allowed for a {category} attribute; "
                       f"allowed: {', '.join(TYPES_BY_CATEGORY[category])}")
    if category == "category":
        return AttributeSpec(name.upper(), category, "category", enumeration=read_enumeration(body.get("enumeration")))
    if kind == "multiple-choice":
        return AttributeSpec(name.upper(), category, kind, options=read_options(body.get("multiCategoryOptions")))
    return AttributeSpec(name.upper(), category, kind)


def extended(spec: AttributeSpec, body: dict[str, Any]) -> AttributeSpec:
    """``PUT``: add enumeration entries or options, or replace a formula."""
    if spec.category in ("calculated", "global"):
        formula = body.get("value")
        if not isinstance(formula, str) or not formula.strip():
            errors.missing("value is mandatory")
        return AttributeSpec(spec.name, spec.category, spec.type, formula=formula)
    if spec.category == "category":
        added = dict(spec.enumeration)
        added.update(read_enumeration(body.get("enumeration")))
        return AttributeSpec(spec.name, spec.category, spec.type, enumeration=tuple(added.items()))
    if spec.type == "multiple-choice":
        options = spec.options + tuple(o for o in read_options(body.get("multiCategoryOptions"))
                                       if o not in spec.options)
        return AttributeSpec(spec.name, spec.category, spec.type, options=options)
    errors.invalid("Only category, multiple-choice, calculated and global attributes can be updated")


def register(app: Any, state: BrevoState) -> None:
    account = state.account

    @app.route("GET", "/v3/contacts/attributes")
    def list_attributes(_: Request) -> Response:
        with account.lock:
            return Response.json({"attributes": [attribute_view(a) for a in account.attributes.values()]})

    @app.route("POST", "/v3/contacts/attributes/{category}/{name}")
    def create_attribute(request: Request) -> Response:
        body = errors.json_body(request) if request.body else {}
        spec = new_attribute(request.path_params["category"], request.path_params["name"], body)
        with account.lock:
            if spec.name in account.attributes:
                errors.invalid("Attribute name must be unique")
            account.add_attribute(spec)
        return Response.empty(201)

    @app.route("PUT", "/v3/contacts/attributes/{category}/{name}")
    def update_attribute(request: Request) -> Response:
        body = errors.json_body(request)
        with account.lock:
            spec = account.attributes.get(request.path_params["name"].upper())
            if spec is None or spec.category != request.path_params["category"]:
                errors.not_found("Attribute not found")
            account.add_attribute(extended(spec, body))
        return Response.empty(204)

    @app.route("DELETE", "/v3/contacts/attributes/{category}/{name}")
    def delete_attribute(request: Request) -> Response:
        name = request.path_params["name"].upper()
        with account.lock:
            spec = account.attributes.get(name)
            if spec is None or spec.category != request.path_params["category"]:
                errors.not_found("Attribute not found")
            del account.attributes[name]
            for contact in account.contacts.values():
                contact.attributes.pop(name, None)
        return Response.empty(204)
