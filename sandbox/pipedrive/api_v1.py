"""The v1 endpoints the product still needs (``/v1`` and ``/api/v1``): leads, users, types, webhooks.

Leads exist only in v1 (research/pipedrive-api.md §1). ``GET /v1/leads`` pages by offset
(``start``, ``limit`` <= 500) and reports ``start``, ``limit`` and ``more_items_in_collection``
directly under ``additional_data``, as SPEC-v1 writes it for leads. Archived leads are only in
``/v1/leads/archived``; deleted ones in neither. The default order is creation time, oldest first.

Webhooks are managed here too: at most 40 per user (422 "Webhooks limit reached"), the
required fields of SPEC-v1's request schema, ``version`` "2.0" by default, and an HTTP auth
password that is stored but never returned.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from sandbox.pipedrive import params, times
from sandbox.pipedrive.answers import error, error_body, fail, ok
from sandbox.pipedrive.limits import Caller
from sandbox.pipedrive.table import EntityTable
from sandbox.server import HTTPError, Request, Response

if TYPE_CHECKING:
    from sandbox.pipedrive.app import PipedriveApp

LEAD_FILTERS = ("owner_id", "person_id", "organization_id")
DEFAULT_LEAD_ORDER = (("add_time", False), ("id", False))
_TIME_FIELDS = ("add_time", "update_time")


def register(app: PipedriveApp) -> None:
    store = app.store
    ordered_leads = _LeadOrders(store.table("leads"))

    def leads(archived: bool, *, windowed: bool) -> Any:
        def handle(request: Request) -> Response:
            start, limit = params.start(request), params.limit(request)
            order = _lead_order(request, request.state["operation"].allowed("sort"))
            equals = {name: value for name in LEAD_FILTERS
                      if (value := params.integer(request, name)) is not None}
            since = params.iso8601(request, "updated_since") if windowed else None
            with store.lock:
                matching = [lead for lead in ordered_leads.get(order)
                            if not lead.get("is_deleted") and bool(lead.get("is_archived")) == archived
                            and all(lead.get(k) == v for k, v in equals.items())
                            and (since is None or EntityTable.key("update_time", lead) >= since)]
            page = matching[start:start + limit]
            return ok(page, {"start": start, "limit": limit,
                             "more_items_in_collection": start + limit < len(matching)})

        return handle

    app.api("GET", "v1", "/leads/archived")(leads(archived=True, windowed=False))
    app.api("GET", "v1", "/leads")(leads(archived=False, windowed=True))

    @app.api("GET", "v1", "/leadLabels")
    def lead_labels(request: Request) -> Response:
        return ok(store.lead_labels)

    @app.api("GET", "v1", "/activityTypes")
    def activity_types(request: Request) -> Response:
        return ok(store.activity_types)

    @app.api("GET", "v1", "/users")
    def users(request: Request) -> Response:
        me = request.state["caller"].user_id
        return ok([{**user, "is_you": user["id"] == me} for user in store.users])

    @app.api("GET", "v1", "/users/me")
    def users_me(request: Request) -> Response:
        me = request.state["caller"].user_id
        user = next((u for u in store.users if u["id"] == me), store.users[0])
        return ok({**user, "is_you": True, "company_id": app.config.company_id,
                   "company_name": app.config.company_name, "company_domain": store.company_domain,
                   "company_country": "DE", "company_industry": "Software",
                   "language": {"language_code": "en", "country_code": "US"}})

    @app.api("GET", "v1", "/webhooks")
    def list_webhooks(request: Request) -> Response:
        with store.lock:
            hooks = [_shown(hook) for hook in store.webhooks.values()]
        return ok(hooks, status="ok")

    @app.api("POST", "v1", "/webhooks")
    def add_webhook(request: Request) -> Response:
        caller: Caller = request.state["caller"]
        body = _webhook_body(request, request.state["operation"])
        user_id = body.get("user_id") or caller.user_id
        with store.lock:
            owned = sum(1 for hook in store.webhooks.values() if hook["user_id"] == user_id)
            if owned >= app.config.max_webhooks_per_user:
                return error(422, "Webhooks limit reached")
            stored = store.add_webhook({
                "company_id": app.config.company_id, "owner_id": caller.user_id, "user_id": user_id,
                "event_action": body["event_action"], "event_object": body["event_object"],
                "subscription_url": body["subscription_url"], "version": body.get("version") or "2.0",
                "is_active": 1, "add_time": times.millis_timestamp(app.clock()), "remove_time": None,
                "type": "application" if caller.kind == "oauth" else "general",
                "http_auth_user": body.get("http_auth_user"), "http_auth_password": body.get("http_auth_password"),
                "remove_reason": None, "last_delivery_time": None, "last_http_status": None,
                "admin_id": caller.user_id, "name": body["name"],
            })
        response = ok(_shown(stored), status="ok")
        response.status = 201
        return response

    @app.api("DELETE", "v1", "/webhooks/{id}")
    def delete_webhook(request: Request) -> Response:
        try:
            hook_id = int(request.path_params["id"])
        except ValueError:
            hook_id = -1
        with store.lock:
            removed = store.webhooks.pop(hook_id, None)
        if removed is None:
            return _webhook_error(404, "Webhook not found", {"id": ["not found"]})
        return Response.json({"status": "ok", "success": True})


def _shown(hook: dict[str, Any]) -> dict[str, Any]:
    """A webhook as the API returns it: the password stays a secret."""
    return {**hook, "http_auth_password": None}


def _webhook_error(status: int, message: str, problems: dict[str, list[str]]) -> Response:
    """SPEC-v1's webhook error (``status``, ``errors``) merged with the common error fields."""
    return Response.json({"status": "error", **error_body(message), "errors": problems}, status=status)


def _webhook_body(request: Request, operation: Any) -> dict[str, Any]:
    """The POST body (JSON, or a form as older clients send), checked against SPEC-v1's schema."""
    content_type = (request.header("content-type") or "").lower()
    try:
        if "application/x-www-form-urlencoded" in content_type:
            body: Any = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8")).items()}
        else:
            body = request.json() or {}
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise _invalid({"body": ["must be a JSON object"]})
    problems: dict[str, list[str]] = {}
    for name in sorted(operation.body_required):
        if body.get(name) in (None, ""):
            problems[name] = ["is required"]
    for name, choices in operation.body_fields.items():
        if choices is not None and body.get(name) not in (None, "") and body[name] not in choices:
            problems.setdefault(name, []).append(f"must be one of {', '.join(sorted(choices))}")
    url = body.get("subscription_url")
    if url and not _is_subscription_url(str(url)):
        problems.setdefault("subscription_url", []).append("invalid or non-reachable URL")
    if len(str(body.get("name") or "")) > 255:
        problems.setdefault("name", []).append("must be at most 255 characters")
    if "user_id" in body and body["user_id"] is not None:
        try:
            body["user_id"] = int(body["user_id"])
        except (TypeError, ValueError):
            problems.setdefault("user_id", []).append("must be an integer")
    if problems:
        raise _invalid(problems)
    return body


def _invalid(problems: dict[str, list[str]]) -> HTTPError:
    first = next(iter(problems))
    return HTTPError(_webhook_error(400, f"{first} {problems[first][0]}", problems))


def _is_subscription_url(url: str) -> bool:
    """An absolute http(s) URL with a host, not one of Pipedrive's own API URLs."""
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and "pipedrive.com" not in parts.hostname


def _lead_order(request: Request, allowed: frozenset[str]) -> tuple[tuple[str, bool], ...]:
    """``sort=update_time ASC, title DESC`` -> ((field, descending), ...), ending with id for ties."""
    raw = params.text(request, "sort")
    if raw is None:
        return DEFAULT_LEAD_ORDER
    order: list[tuple[str, bool]] = []
    for item in raw.split(","):
        words = item.split()
        if not words:
            continue
        name, mode = words[0], (words[1].upper() if len(words) > 1 else "ASC")
        if name not in allowed or mode not in ("ASC", "DESC") or len(words) > 2:
            raise fail(400, f"Invalid sort: {item.strip()!r}; fields: {', '.join(sorted(allowed))}, "
                            "each followed by ASC or DESC")
        order.append((name, mode == "DESC"))
    if not any(name == "id" for name, _ in order):
        order.append(("id", False))
    return tuple(order)


class _LeadOrders:
    """Leads sorted per ``sort`` spec, rebuilt only when the leads change."""

    def __init__(self, table: EntityTable):
        self.table = table
        self._cache: dict[tuple[tuple[str, bool], ...], tuple[int, list[dict[str, Any]]]] = {}

    def get(self, order: tuple[tuple[str, bool], ...]) -> list[dict[str, Any]]:
        """Call under the store lock."""
        cached = self._cache.get(order)
        if cached is not None and cached[0] == self.table.version:
            return cached[1]
        rows = list(self.table.records.values())
        for name, descending in reversed(order):  # stable sorts, least significant key first
            rows.sort(key=lambda lead, n=name: _lead_key(lead, n), reverse=descending)
        self._cache[order] = (self.table.version, rows)
        return rows


def _lead_key(lead: dict[str, Any], name: str) -> tuple[int, Any]:
    value = lead.get(name)
    if value is None:
        return (0, 0)
    if name in _TIME_FIELDS:
        return (1, times.to_epoch(value))
    return (1, value)
