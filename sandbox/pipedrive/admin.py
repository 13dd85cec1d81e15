"""Admin endpoints of the Pipedrive sandbox (``/__admin/...``): no auth, no limits, no faults.

They let a test or the demo play the parts the sandbox cannot: a user editing records in the
Pipedrive UI, the consent screen of an OAuth app, the account owner changing plan.

| endpoint | does |
| --- | --- |
| ``GET /__admin/pipedrive/usage`` | per token: requests, tokens spent, 429s, 403s; budget left |
| ``GET``/``POST /__admin/pipedrive/config`` | read / change plan, daily_budget (resets spent), token ttl, block_* |
| ``POST /__admin/pipedrive/reset_usage`` | forget spent budget, windows, 429 history and blocks |
| ``GET /__admin/pipedrive/webhooks`` | the stored webhooks, with their HTTP auth passwords |
| ``POST /__admin/records/{entity}`` | upsert a record or a list of records by id |
| ``POST /__admin/records/{entity}/delete`` | ``{"ids": [...]}``: soft delete |
| ``GET /__admin/records/{entity}/{id}`` | any record, deleted ones included |
| ``POST /__admin/oauth/code`` | mint an authorization code: ``{"code": ...}`` |
| ``POST /__admin/oauth/expire`` | expire every access token now |
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.pipedrive.store import WRITABLE, UnknownRecord
from sandbox.server import HTTPError, Request, Response

if TYPE_CHECKING:
    from sandbox.pipedrive.app import PipedriveApp


def _bad(message: str, status: int = 400) -> HTTPError:
    return HTTPError(Response.json({"error": message}, status=status))


def _body(request: Request) -> Any:
    try:
        return request.json()
    except ValueError:
        raise _bad("the body is not valid JSON") from None


def _entity(request: Request) -> str:
    entity = request.path_params["entity"]
    if entity not in WRITABLE:
        raise _bad(f"unknown entity {entity!r}; valid: {', '.join(WRITABLE)}", status=404)
    return entity


def _record_id(entity: str, raw: Any) -> Any:
    """Leads have UUID ids; every other entity an integer."""
    if entity == "leads":
        return str(raw)
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise _bad(f"{entity} ids are integers, not {raw!r}") from None


def register(app: PipedriveApp) -> None:
    store = app.store

    @app.admin("GET", "/pipedrive/usage")
    def usage(_: Request) -> Response:
        report = app.limiter.report()
        with app.lock:
            report["query_token_requests"] = app.counters["auth:query_token"]
        return Response.json(report)

    @app.admin("GET", "/pipedrive/config")
    def get_config(_: Request) -> Response:
        return Response.json(app.config.public())

    @app.admin("POST", "/pipedrive/config")
    def set_config(request: Request) -> Response:
        values = _body(request) or {}
        if not isinstance(values, dict):
            raise _bad("the config change must be a JSON object")
        app.config.update(values)
        if "daily_budget" in values:
            app.limiter.reset_budget()
        return Response.json(app.config.public())

    @app.admin("POST", "/pipedrive/reset_usage")
    def reset_usage(_: Request) -> Response:
        app.limiter.reset()
        return Response.json(app.limiter.report())

    @app.admin("GET", "/pipedrive/webhooks")
    def webhooks(_: Request) -> Response:
        with store.lock:
            return Response.json(list(store.webhooks.values()))

    @app.admin("POST", "/records/{entity}")
    def upsert(request: Request) -> Response:
        entity = _entity(request)
        body = _body(request)
        records = body if isinstance(body, list) else [body]
        for record in records:
            if not isinstance(record, dict):
                raise _bad(f"a {entity} record must be a JSON object, not {record!r}")
            if "id" in record:
                record["id"] = _record_id(entity, record["id"])
        return Response.json({"data": store.upsert_many(entity, records)})

    @app.admin("POST", "/records/{entity}/delete")
    def delete(request: Request) -> Response:
        entity = _entity(request)
        body = _body(request) or {}
        ids = body.get("ids") if isinstance(body, dict) else None
        if not isinstance(ids, list):
            raise _bad('the body must be {"ids": [...]}')
        deleted = store.soft_delete(entity, [_record_id(entity, i) for i in ids])
        return Response.json({"deleted": deleted})

    @app.admin("GET", "/records/{entity}/{id}")
    def read(request: Request) -> Response:
        entity = _entity(request)
        try:
            return Response.json({"data": store.get(entity, _record_id(entity, request.path_params["id"]))})
        except UnknownRecord:
            return Response.json({"error": f"no {entity} record {request.path_params['id']}"}, status=404)

    @app.admin("POST", "/oauth/code")
    def mint_code(request: Request) -> Response:
        body = _body(request) or {}
        return Response.json({"code": app.oauth.mint_code(body.get("user_id"), body.get("scope") or "base")})

    @app.admin("POST", "/oauth/expire")
    def expire(_: Request) -> Response:
        return Response.json({"expired": app.oauth.expire_access_tokens()})
