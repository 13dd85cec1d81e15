"""``/v3/companies`` and ``/v3/crm/attributes``: Brevo's CRM companies (see companies.py).

All of it counts in the "other" rate-limit bucket (100 requests per hour on the General tier), so
bulk work goes through ``POST /companies/import``. ``GET /companies`` filters on attributes with
``filters[attributes.<name>]=value`` (the 2026 SDK's wire form) or ``filters={"attributes.<name>":
value}`` (the 2025 spec's); as Brevo warns, a filter on a name the companies do not have is dropped
silently and the whole list comes back.
"""

from __future__ import annotations

import json
import re
from typing import Any

from sandbox.brevo import errors
from sandbox.brevo.companies import CRM_TYPES, OBJECT_ID, Company
from sandbox.brevo.params import time_arg
from sandbox.brevo.state import BrevoState
from sandbox.server import Request, Response

_FILTER_PARAM = re.compile(r"^filters\[attributes\.([^\]]+)\]$")
MAX_LABEL = 50


def ids_field(body: dict[str, Any], name: str, kind: type) -> list[Any] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, kind) and not isinstance(v, bool) for v in value):
        errors.crm_fail(400, f"{name} should be an array of {'integers' if kind is int else 'strings'}")
    return value


def attributes_field(body: dict[str, Any]) -> dict[str, Any]:
    attributes = body.get("attributes") or {}
    if not isinstance(attributes, dict):
        errors.crm_fail(400, "attributes should be an object")
    return attributes


def attribute_filters(request: Request, known: set[str]) -> dict[str, str]:
    wanted: dict[str, str] = {}
    for name, values in request.query.items():
        found = _FILTER_PARAM.match(name)
        if found and values:
            wanted[found.group(1)] = values[0]
    raw = request.arg("filters")
    if raw:
        try:
            parsed = json.loads(raw)
        except ValueError:
            errors.crm_fail(400, "Not valid data.")
        if isinstance(parsed, dict):
            for key, value in parsed.items():
                if str(key).startswith("attributes."):
                    wanted[str(key)[len("attributes."):]] = str(value)
    return {k: v for k, v in wanted.items() if k in known | {"name"}}


def positive_int(request: Request, name: str, default: int, maximum: int | None = None) -> int:
    raw = request.arg(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or int(raw) < 1 or (maximum is not None and int(raw) > maximum):
        errors.crm_fail(400, f"{name} is not valid")
    return int(raw)


def register(app: Any, state: BrevoState) -> None:
    store = state.companies

    def the_company(request: Request, *, missing_status: int = 404) -> Company:
        company_id = request.path_params["id"]
        if not OBJECT_ID.match(company_id):
            errors.crm_fail(400, "Route company id is not valid.")
        company = store.companies.get(company_id)
        if company is None:
            errors.crm_fail(missing_status, "Document not found")
        return company

    @app.route("POST", "/v3/companies")
    def create_company(request: Request) -> Response:
        body = errors.json_body(request, crm=True)
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            errors.crm_fail(400, "name is required")
        attributes = attributes_field(body)
        contacts = ids_field(body, "linkedContactsIds", int) or []
        deals = ids_field(body, "linkedDealsIds", str) or []
        with store.lock:
            company = store.create(name.strip(), attributes, store.existing_contacts(contacts), deals)
        return Response.json({"id": company.id})

    @app.route("GET", "/v3/companies")
    def list_companies(request: Request) -> Response:
        page = positive_int(request, "page", 1)
        limit = positive_int(request, "limit", 50, maximum=1000)
        sort = request.arg("sort") or "desc"
        if sort not in ("asc", "desc"):
            errors.crm_fail(400, "sort is not valid")
        contact_id = request.arg("linkedContactsIds")
        if contact_id is not None and not contact_id.isdigit():
            errors.crm_fail(400, "linkedContactsIds is not valid")
        found = store.select(attribute_filters=attribute_filters(request, store.attribute_names()),
                             contact_id=int(contact_id) if contact_id else None,
                             deal_id=request.arg("linkedDealsIds") or None,
                             modified_since=time_arg(request, "modifiedSince"),
                             created_since=time_arg(request, "createdSince"),
                             sort_by=request.arg("sortBy") or "", descending=sort == "desc")
        start = (page - 1) * limit
        return Response.json({"items": [c.view() for c in found[start:start + limit]],
                              "pager": {"total": len(found), "page": page, "limit": limit}})

    @app.route("POST", "/v3/companies/import")
    def import_companies(request: Request) -> Response:
        parts = multipart_fields(request)
        if "file" not in parts:
            errors.crm_fail(400, "Bad request : file is required")
        try:
            mapping = json.loads(parts.get("mapping") or "{}")
        except ValueError:
            errors.crm_fail(400, "Bad request : mapping should be a JSON object")
        if not isinstance(mapping, dict):
            errors.crm_fail(400, "Bad request : mapping should be a JSON object")
        text = parts["file"]
        process = state.processes.submit("IMPORTUSER", lambda: store.run_import(text, mapping), import_info=False,
                                         fail=state.take_import_failure())
        return Response.json({"processId": process.id})

    @app.route("PATCH", "/v3/companies/link-unlink/{id}")
    def link_unlink(request: Request) -> Response:
        body = errors.json_body(request, crm=True)
        company = the_company(request, missing_status=400)
        store.link(company, ids_field(body, "linkContactIds", int) or [], ids_field(body, "unlinkContactIds", int) or [],
                   ids_field(body, "linkDealsIds", str) or [], ids_field(body, "unlinkDealsIds", str) or [])
        return Response.empty(204)

    @app.route("GET", "/v3/companies/{id}")
    def get_company(request: Request) -> Response:
        return Response.json(the_company(request).view())

    @app.route("PATCH", "/v3/companies/{id}")
    def update_company(request: Request) -> Response:
        body = errors.json_body(request, crm=True)
        company = the_company(request)
        name = body.get("name")
        if name is not None and (not isinstance(name, str) or not name.strip()):
            errors.crm_fail(400, "Company name cannot be empty")
        contacts = ids_field(body, "linkedContactsIds", int)
        store.update(company, name=name.strip() if name else None, attributes=attributes_field(body),
                     contact_ids=store.existing_contacts(contacts) if contacts is not None else None,
                     deal_ids=ids_field(body, "linkedDealsIds", str))
        return Response.json(company.view())

    @app.route("DELETE", "/v3/companies/{id}")
    def delete_company(request: Request) -> Response:
        company = the_company(request)
        with store.lock:
            store.companies.pop(company.id, None)
        return Response.empty(204)

    # ------------------------------------------------------------ attributes
    @app.route("GET", "/v3/crm/attributes/companies")
    def company_attributes(_: Request) -> Response:
        with store.lock:
            return Response.json([a.view() for a in store.attributes["companies"]])

    @app.route("GET", "/v3/crm/attributes/deals")
    def deal_attributes(_: Request) -> Response:
        with store.lock:
            return Response.json([a.view() for a in store.attributes["deals"]])

    @app.route("POST", "/v3/crm/attributes")
    def create_crm_attribute(request: Request) -> Response:
        body = errors.json_body(request, crm=True)
        label, kind, object_type = body.get("label"), body.get("attributeType"), body.get("objectType")
        if not isinstance(label, str) or not label.strip():
            errors.crm_fail(400, "label is required")
        if len(label) > MAX_LABEL:
            errors.crm_fail(400, f"label cannot exceed {MAX_LABEL} characters")
        if kind not in CRM_TYPES:
            errors.crm_fail(400, f"attributeType should be one of {', '.join(CRM_TYPES)}")
        if object_type not in ("companies", "deals"):
            errors.crm_fail(400, "objectType should be one of companies, deals")
        options = body.get("optionsLabels") or []
        if kind in ("single-select", "multi-choice") and (
                not isinstance(options, list) or not options or not all(isinstance(o, str) and o for o in options)):
            errors.crm_fail(400, "optionsLabels is required for single-select and multi-choice attributes")
        with store.lock:
            if store.has_label(object_type, label):
                errors.crm_fail(400, "Attribute with this label already exists")
            attribute = store.add_attribute(object_type, label.strip(), kind, options)
        return Response.json({"id": attribute.id})


def multipart_fields(request: Request) -> dict[str, str]:
    """The text of each part of a ``multipart/form-data`` body, by field name."""
    content_type = request.header("content-type", "") or ""
    found = re.search(r'boundary="?([^";]+)"?', content_type)
    if "multipart/form-data" not in content_type or not found:
        errors.crm_fail(400, "Bad request : the body should be multipart/form-data")
    boundary = b"--" + found.group(1).encode()
    fields: dict[str, str] = {}
    for part in request.body.split(boundary)[1:]:
        if part.startswith(b"--"):
            break
        head, _, content = part.partition(b"\r\n\r\n")
        name = re.search(rb'name="([^"]*)"', head)
        if name:
            fields[name.group(1).decode()] = content.removesuffix(b"\r\n").decode("utf-8", errors="replace")
    return fields
