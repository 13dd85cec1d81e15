"""The v2 endpoints (``/api/v2``): persons, organizations, deals, activities, pipelines, stages, fields.

Lists use cursor pagination (``limit`` <= 500, opaque ``cursor``, ``additional_data.next_cursor``
null at the end) with the filters the spec documents; see ``listing`` for how a page is read.
What each list shows:

* persons, organizations, activities: records that are not deleted;
* deals: not archived (since 2025-07-15 archived deals are only in ``/deals/archived``); a
  ``status`` comma list picks open, won, lost, and deleted ones only when it names ``deleted``;
* ``/deals/archived``: archived deals, with the same ``status`` rule.

``GET /{entity}/{id}`` returns any record, a deleted one with ``is_deleted: true`` (the
migration guide: "If the person has is_deleted: true, update_time is the delete_time").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sandbox.pipedrive import params
from sandbox.pipedrive.answers import entity_not_found, fail, ok
from sandbox.pipedrive.listing import InvalidCursor, ListQuery, read_page
from sandbox.pipedrive.specs import Operation
from sandbox.pipedrive.store import PipedriveStore, UnknownRecord
from sandbox.pipedrive.table import EntityTable
from sandbox.pipedrive.views import View
from sandbox.server import Request, Response

if TYPE_CHECKING:
    from sandbox.pipedrive.app import PipedriveApp

# Integer filters per list; each is a field of the record with the same name.
INT_FILTERS: dict[str, tuple[str, ...]] = {
    "persons": ("owner_id", "org_id"),
    "organizations": ("owner_id",),
    "deals": ("owner_id", "person_id", "org_id", "pipeline_id", "stage_id"),
    "activities": ("owner_id", "deal_id", "person_id", "org_id"),
}
LIVE_STATUSES = frozenset({"open", "won", "lost"})


def _not_deleted(record: dict[str, Any]) -> bool:
    return not record.get("is_deleted")


def register(app: PipedriveApp) -> None:
    store = app.store

    def operation(request: Request) -> Operation:
        return request.state["operation"]

    def list_query(request: Request) -> ListQuery:
        """Sort, page and window parameters every v2 list shares."""
        op = operation(request)
        sort_by = params.choice(request, "sort_by", tuple(sorted(op.allowed("sort_by"))), "id")
        direction = params.choice(request, "sort_direction", ("asc", "desc"), "asc")
        return ListQuery(sort_by=sort_by, descending=direction == "desc", limit=params.limit(request),
                         cursor=params.cursor(request, field=sort_by, direction=direction))

    def entity_list(entity: str, keep_for: Callable[[Request], Callable[[dict[str, Any]], bool]]) -> Callable[
            [Request], Response]:
        def handle(request: Request) -> Response:
            query = list_query(request)
            query.since = params.rfc3339(request, "updated_since")
            query.until = params.rfc3339(request, "updated_until")
            ids = params.ids(request)
            query.ids = None if ids is None else set(ids)
            for name in INT_FILTERS[entity]:
                value = params.integer(request, name)
                if value is not None:
                    query.equals[name] = value
            if entity == "activities":
                lead_id = params.text(request, "lead_id")
                if lead_id is not None:
                    query.equals["lead_id"] = lead_id
            query.keep = keep_for(request)
            view = View.from_request(request, entity, operation(request).allowed("include_fields"))
            with store.lock:
                if entity == "persons":
                    _restrict_to_deal_person(request, store, query)
                rows, next_cursor = _page(store.table(entity), query)
                data = [view.present(store, record) for record in rows]
            return ok(data, {"next_cursor": next_cursor.encode() if next_cursor else None})

        return handle

    def entity_get(entity: str) -> Callable[[Request], Response]:
        def handle(request: Request) -> Response:
            record_id = _path_id(request)
            view = View.from_request(request, entity, operation(request).allowed("include_fields"))
            with store.lock:
                try:
                    record = store.get(entity, record_id)
                except UnknownRecord:
                    return entity_not_found()
                return ok(view.present(store, record))

        return handle

    def plain_keep(_: Request) -> Callable[[dict[str, Any]], bool]:
        return _not_deleted

    def activity_keep(request: Request) -> Callable[[dict[str, Any]], bool]:
        done = params.boolean(request, "done")
        if done is None:
            return _not_deleted
        return lambda record: not record.get("is_deleted") and bool(record.get("done")) == done

    def deal_keep(archived: bool) -> Callable[[Request], Callable[[dict[str, Any]], bool]]:
        def keep_for(request: Request) -> Callable[[dict[str, Any]], bool]:
            allowed = operation(request).allowed("status")
            statuses = frozenset(params.names(request, "status", allowed=allowed)) or LIVE_STATUSES
            with_deleted = "deleted" in statuses

            def keep(record: dict[str, Any]) -> bool:
                if bool(record.get("is_archived")) != archived:
                    return False
                if record.get("is_deleted"):
                    return with_deleted
                return record.get("status") in statuses

            return keep

        return keep_for

    # Order matters: /deals/archived before /deals/{id}, which would match "archived".
    app.api("GET", "v2", "/deals/archived")(entity_list("deals", deal_keep(archived=True)))
    for entity, keep_for in (("persons", plain_keep), ("organizations", plain_keep),
                             ("deals", deal_keep(archived=False)), ("activities", activity_keep)):
        app.api("GET", "v2", f"/{entity}")(entity_list(entity, keep_for))
        app.api("GET", "v2", f"/{entity}/{{id}}")(entity_get(entity))

    @app.api("PATCH", "v2", "/persons/{id}")
    def update_person(request: Request) -> Response:
        record_id = _path_id(request)
        changes = _person_changes(request, app)
        view = View.from_request(request, "persons", app.facts.operation("v2", "GET", "/persons/{id}")
                                 .allowed("include_fields"))
        with store.lock:
            try:
                current = store.get("persons", record_id)
            except UnknownRecord:
                return entity_not_found()
            if current.get("is_deleted"):
                return entity_not_found()
            updated = store.upsert("persons", {**changes, "id": record_id}, create=False)
            return ok(view.present(store, updated))

    @app.api("GET", "v2", "/pipelines")
    def pipelines(request: Request) -> Response:
        return _small_list(request, "pipelines", list_query(request))

    @app.api("GET", "v2", "/stages")
    def stages(request: Request) -> Response:
        query = list_query(request)
        pipeline_id = params.integer(request, "pipeline_id")
        if pipeline_id is not None:
            query.equals["pipeline_id"] = pipeline_id
        return _small_list(request, "stages", query)

    def _small_list(request: Request, entity: str, query: ListQuery) -> Response:
        query.keep = _not_deleted
        with store.lock:
            rows, next_cursor = _page(store.table(entity), query)
        return ok(rows, {"next_cursor": next_cursor.encode() if next_cursor else None})

    for entity, template in (("persons", "/personFields"), ("organizations", "/organizationFields"),
                             ("deals", "/dealFields")):
        app.api("GET", "v2", template)(_fields_list(app, entity))


def _fields_list(app: PipedriveApp, entity: str) -> Callable[[Request], Response]:
    """Field definitions, paged by position (they have no id); opt-in namespaces hidden unless asked."""

    def handle(request: Request) -> Response:
        opt_in = request.state["operation"].allowed("include_fields")
        include = set(params.names(request, "include_fields", allowed=opt_in))
        limit = params.limit(request)
        cursor = params.cursor(request, field="order", direction="asc")
        start = 0 if cursor is None else _cursor_position(cursor.value)
        fields = app.store.fields[entity]
        page = [{k: v for k, v in f.items() if k not in opt_in or k in include}
                for f in fields[start:start + limit]]
        more = start + limit < len(fields)
        next_cursor = params.Cursor("order", start + limit, "asc", start + limit).encode() if more else None
        return ok(page, {"next_cursor": next_cursor})

    return handle


def _page(table: EntityTable, query: ListQuery) -> tuple[list[dict[str, Any]], params.Cursor | None]:
    try:
        return read_page(table, query)
    except InvalidCursor:  # decodes, but its values do not fit the index: hand-made or corrupted
        raise fail(400, "Validation failed: cursor: Invalid cursor") from None


def _cursor_position(value: Any) -> int:
    if type(value) is not int or value < 0:
        raise fail(400, "Validation failed: cursor: Invalid cursor")
    return value


def _path_id(request: Request) -> int:
    raw = request.path_params["id"]
    try:
        return int(raw)
    except ValueError:
        raise fail(400, "Validation failed: id: Parameter 'id' must be an integer") from None


def _restrict_to_deal_person(request: Request, store: PipedriveStore, query: ListQuery) -> None:
    """``GET /persons?deal_id=``: the persons linked to that deal (its contact person)."""
    deal_id = params.integer(request, "deal_id")
    if deal_id is None:
        return
    deal = store.table("deals").get(deal_id)
    linked = {deal["person_id"]} if deal and deal.get("person_id") is not None else set()
    query.ids = linked if query.ids is None else query.ids & linked


def _person_changes(request: Request, app: PipedriveApp) -> dict[str, Any]:
    """The PATCH body, checked against the spec's request schema and the account's custom fields."""
    try:
        body = request.json()
    except ValueError:
        raise fail(400, "Validation failed: the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise fail(400, "Validation failed: the request body must be a JSON object")
    allowed = request.state["operation"].body_fields
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise fail(400, f"Validation failed: unknown field(s) {', '.join(unknown)}")
    for name, value in body.items():
        choices = allowed[name]
        if choices is not None and (not isinstance(value, str) or value not in choices):
            raise fail(400, f"Validation failed: {name}: must be one of {', '.join(sorted(choices))}")
    custom = body.get("custom_fields")
    if custom is not None:
        if not isinstance(custom, dict):
            raise fail(400, "Validation failed: custom_fields: must be an object")
        known = {f["field_code"] for f in app.store.fields["persons"] if f.get("is_custom_field")}
        missing = sorted(set(custom) - known)
        if missing:
            raise fail(400, f"Validation failed: custom_fields: unknown custom field(s) {', '.join(missing)}")
    return body
