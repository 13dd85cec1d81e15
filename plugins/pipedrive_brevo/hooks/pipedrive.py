"""PipedriveHook: the Pipedrive API as the product uses it, paced, resilient, page by page.

* Auth (CONTRACT §2): the connection's password is the API token, sent in the ``x-api-token``
  header and never in a URL; or OAuth 2.0 with ``client_id``, ``client_secret``,
  ``refresh_token`` (and optionally ``token_url``) in ``extra``: the access token is refreshed
  before it expires, calls go to the token response's ``api_domain``, and the token is kept for
  the next task (:mod:`~pipedrive_brevo.hooks.token_store`).
* Reads stream: the iterators yield one page at a time (``limit=500``, v2 cursors, v1 offsets),
  so a caller writes each page and can checkpoint the cursor instead of holding everything.
* Every query parameter is checked against the operation's accepted names
  (:mod:`~pipedrive_brevo.hooks.pipedrive_endpoints`); Pipedrive would silently ignore a typo.
* Limits: pacing from ``x-ratelimit-*``; a spent daily budget raises
  :class:`~pipedrive_brevo.http.BudgetExhaustedError` (callers checkpoint and stop); a Cloudflare
  block raises :class:`~pipedrive_brevo.http.BlockedError`; ``success: false`` in a 2xx is an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property
from typing import Any

from airflow.sdk import BaseHook

from pipedrive_brevo.hooks.connection import (
    ConnectionConfigError,
    base_url_from_connection,
)
from pipedrive_brevo.hooks.oauth import OAuthAuth, OAuthGrant
from pipedrive_brevo.hooks.pipedrive_endpoints import (
    CURSOR,
    ENDPOINTS,
    FIELD_ENDPOINTS,
    OFFSET,
    check_params,
)
from pipedrive_brevo.hooks.token_store import (
    TokenStore,
    default_token_store,
    variable_name,
)
from pipedrive_brevo.http import (
    ApiDialect,
    ApiError,
    CallStats,
    HeaderAuth,
    HttpClient,
    RetryPolicy,
    shared_pacer,
)
from pipedrive_brevo.redaction import register_secret

DEFAULT_URL = "https://api.pipedrive.com"
DEFAULT_TOKEN_URL = "https://oauth.pipedrive.com/oauth/token"
MAX_PAGE = 500
MAX_IDS = 100  # "comma separated string array of up to 100 entity ids"


class PipedriveDialect(ApiDialect):
    """Pipedrive's headers, error shape, budget and Cloudflare block (research §3, §8)."""

    name = "Pipedrive"
    limit_header, remaining_header, reset_header = "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"
    request_id_headers = ("x-correlation-id", "x-request-id", "cf-ray")
    daily_remaining_header = "x-daily-ratelimit-token-remaining"

    def __init__(self, window_s: float = 2.0):
        self.window_s = window_s  # the burst limit's rolling window

    def error_detail(self, body: Any) -> tuple[str | None, str | None]:
        if not isinstance(body, dict):
            return None, None
        code = body.get("code") or body.get("errorCode")
        message = body.get("error") or body.get("message")
        info = body.get("error_info")
        if message and info and "developers.pipedrive.com" not in str(info):
            message = f"{message} ({info})"
        return (str(code) if code is not None else None, str(message) if message else None)

    def body_failure(self, body: Any) -> str | None:
        if isinstance(body, dict) and body.get("success") is False:
            return str(body.get("error") or "success: false")
        return None

    def limit_key(self, method: str, path: str) -> str | None:
        return "search" if path.rstrip("/").endswith("/search") else "burst"

    def is_budget_exhausted(self, status: int, headers: Mapping[str, str], cost: int) -> bool:
        # A 429 is a burst 429 unless the daily header says nothing is left (the request that
        # crosses zero is still served, so "0" is the only value that means "spent").
        return status == 429 and headers.get(self.daily_remaining_header, "").strip() == "0"

    def is_blocked(self, status: int, headers: Mapping[str, str], text: str) -> bool:
        # Cloudflare's "Access denied" page is HTML; an API 403 is JSON (and then text is "").
        return status == 403 and bool(text) and "json" not in headers.get("content-type", "")

    def charges(self, status: int) -> bool:
        return status < 500 and status not in (401, 403, 429)


@dataclass
class Page:
    """One page of a list endpoint, with what is needed to resume after it."""

    items: list[dict[str, Any]]
    next_cursor: str | None = None  # v2: pass as ``cursor`` to continue; None at the end
    next_start: int | None = None  # v1: pass as ``start`` to continue; None at the end
    additional_data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Settings:
    base_url: str
    api_token: str | None
    grant: OAuthGrant | None


class PipedriveHook(BaseHook):
    """Talks to Pipedrive through the connection ``pipedrive_conn_id``.

    Constructor arguments other than the connection id tune the HTTP layer (tests pass tiny
    values): ``retry``, ``timeout``, ``max_wait_s`` (the longest pacing wait before giving up
    with :class:`~pipedrive_brevo.http.RateLimitedError`), ``rate_window_s`` (Pipedrive's rolling
    burst window), ``refresh_margin_s`` (refresh OAuth tokens this long before they expire).
    """

    conn_name_attr = "pipedrive_conn_id"
    default_conn_name = "pipedrive_default"
    conn_type = "http"
    hook_name = "Pipedrive"

    def __init__(self, pipedrive_conn_id: str = default_conn_name, *, page_size: int = MAX_PAGE,
                 retry: RetryPolicy | None = None, timeout: tuple[float, float] = (10.0, 60.0),
                 max_wait_s: float = 120.0, rate_window_s: float = 2.0, refresh_margin_s: float = 60.0,
                 token_store: TokenStore | None = None, pool_size: int = 8):
        super().__init__()
        if not 1 <= page_size <= MAX_PAGE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE}")
        self.pipedrive_conn_id = pipedrive_conn_id
        self.page_size = page_size
        self.retry = retry
        self.timeout = timeout
        self.max_wait_s = max_wait_s
        self.rate_window_s = rate_window_s
        self.refresh_margin_s = refresh_margin_s
        self.token_store = token_store
        self.pool_size = pool_size

    # ------------------------------------------------------------------ connection & session
    def _settings(self) -> _Settings:
        """Read the Airflow connection: base URL (https unless loopback) and the credential."""
        conn_id = self.pipedrive_conn_id
        conn = self.get_connection(conn_id)
        extra = conn.extra_dejson or {}
        base_url = base_url_from_connection(conn.host, conn.port, conn.schema, conn_id, default_url=DEFAULT_URL,
                                            strip_suffixes=("/api/v2", "/api/v1", "/v1"))
        oauth_keys = ("client_id", "client_secret", "refresh_token")
        if any(extra.get(k) for k in oauth_keys):
            missing = [k for k in oauth_keys if not extra.get(k)]
            if missing:
                raise ConnectionConfigError(f"connection {conn_id!r}: OAuth needs {', '.join(oauth_keys)} in extra; "
                                            f"missing {', '.join(missing)}")
            grant = OAuthGrant(str(extra["client_id"]), str(extra["client_secret"]), str(extra["refresh_token"]),
                               str(extra.get("token_url") or DEFAULT_TOKEN_URL))
            return _Settings(base_url, None, grant)
        if not conn.password:
            raise ConnectionConfigError(f"connection {conn_id!r} has no API token: put it in the password "
                                        "(or OAuth client_id/client_secret/refresh_token in extra)")
        register_secret(conn.password)
        return _Settings(base_url, conn.password, None)

    @cached_property
    def client(self) -> HttpClient:
        """The HTTP session, built on first use (so constructing the hook costs nothing)."""
        settings = self._settings()
        dialect = PipedriveDialect(self.rate_window_s)
        if settings.grant is not None:
            auth: Any = OAuthAuth(settings.grant, self.token_store or default_token_store(),
                                  variable_name("pipedrive", self.pipedrive_conn_id), self.pipedrive_conn_id,
                                  refresh_margin_s=self.refresh_margin_s, retry=self.retry, timeout=self.timeout)
            def base_url() -> str:  # the api_domain of the current token: it can change on refresh
                return auth.api_domain

            identity = f"oauth:{settings.grant.fingerprint}"
            pacer_url = settings.grant.token_url
        else:
            auth = HeaderAuth("x-api-token", settings.api_token or "")
            base_url = settings.base_url
            identity = settings.api_token or ""
            pacer_url = settings.base_url
        pacer = shared_pacer(pacer_url, identity, dialect.window_s, max_wait_s=self.max_wait_s)
        return HttpClient(base_url, dialect, auth, pacer=pacer, retry=self.retry, timeout=self.timeout,
                          pool_size=self.pool_size)

    @property
    def stats(self) -> CallStats:
        """Calls, retries, 429s and tokens spent by this hook (for the run summary)."""
        return self.client.stats

    def test_connection(self) -> tuple[bool, str]:
        """Airflow's "Test" button: who the credential belongs to, or why it does not work."""
        try:
            me = self.get_current_user()
        except (ApiError, ConnectionConfigError) as exc:
            return False, str(exc)
        return True, f"Connected to Pipedrive as {me.get('name')} ({me.get('company_name') or me.get('company_domain')})"

    # ---------------------------------------------------------------------------- requests
    def _call(self, name: str, *, params: Mapping[str, Any] | None = None, json_body: Any = None,
              idempotent: bool | None = None, **path_params: Any) -> Any:
        """One checked call of a named operation; returns the parsed body."""
        endpoint = ENDPOINTS[name]
        query = {k: _format_param(v) for k, v in (params or {}).items() if v is not None}
        check_params(name, query)
        response = self.client.request(endpoint.method, endpoint.path(**path_params), params=query or None,
                                       json_body=json_body, idempotent=idempotent, cost=endpoint.cost)
        return response.data

    def iter_pages(self, name: str, *, cursor: str | None = None, limit: int | None = None,
                   **filters: Any) -> Iterator[Page]:
        """Pages of a v2 collection (``persons``, ``deals``, ``deals_archived``, ``activities``, ...).

        ``filters`` are the operation's query parameters (``updated_since``/``updated_until``
        as datetimes or RFC 3339 strings, ``sort_by="update_time"``, ``include_fields=[...]``,
        ``ids=[...]``). More than 100 ``ids`` are split into several scans. Resume a scan with
        ``cursor=page.next_cursor``.
        """
        if ENDPOINTS[name].paging != CURSOR:
            raise ValueError(f"{name!r} is not a v2 cursor collection; use iter_v1_pages")
        if limit is not None and not 1 <= limit <= MAX_PAGE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE} (Pipedrive answers 400 above)")
        ids = filters.pop("ids", None)
        if ids is not None and not isinstance(ids, str):
            ids = list(ids)
            if len(ids) > MAX_IDS:
                if cursor is not None:
                    raise ValueError("a cursor cannot resume a scan over more than 100 ids")
                for start in range(0, len(ids), MAX_IDS):
                    yield from self.iter_pages(name, limit=limit, ids=ids[start:start + MAX_IDS], **filters)
                return
        params = dict(filters, ids=ids, limit=limit or self.page_size)
        while True:
            body = self._call(name, params=dict(params, cursor=cursor))
            additional = (body or {}).get("additional_data") or {}
            next_cursor = additional.get("next_cursor")
            yield Page(list((body or {}).get("data") or []), next_cursor=next_cursor, additional_data=additional)
            if not next_cursor:
                return
            cursor = next_cursor

    def iter_v1_pages(self, name: str, *, start: int = 0, limit: int | None = None,
                      path: Mapping[str, Any] | None = None, **filters: Any) -> Iterator[Page]:
        """Pages of a v1 collection (``leads``, ``leads_archived``, ``leadLabels``, ``users``,
        ``activityTypes``, ``deal_flow``) by offset. Endpoints that take no ``start``/``limit``
        are one page; ``path`` fills the path's placeholders (``{"id": 7}``)."""
        endpoint = ENDPOINTS[name]
        if endpoint.paging != OFFSET:
            raise ValueError(f"{name!r} is not a v1 offset collection")
        paged = "start" in endpoint.params
        while True:
            params = dict(filters, start=start, limit=limit or self.page_size) if paged else dict(filters)
            body = self._call(name, params=params, **dict(path or {}))
            items = list((body or {}).get("data") or [])
            additional = (body or {}).get("additional_data") or {}
            next_start = _next_start(additional, start, len(items)) if paged else None
            yield Page(items, next_start=next_start, additional_data=additional)
            if next_start is None:
                return
            start = next_start

    # ----------------------------------------------------------------- named collections
    def iter_persons(self, **filters: Any) -> Iterator[Page]:
        return self.iter_pages("persons", **filters)

    def iter_organizations(self, **filters: Any) -> Iterator[Page]:
        return self.iter_pages("organizations", **filters)

    def iter_deals(self, **filters: Any) -> Iterator[Page]:
        return self.iter_pages("deals", **filters)

    def iter_archived_deals(self, **filters: Any) -> Iterator[Page]:
        return self.iter_pages("deals_archived", **filters)

    def iter_activities(self, **filters: Any) -> Iterator[Page]:
        return self.iter_pages("activities", **filters)

    def iter_leads(self, **filters: Any) -> Iterator[Page]:
        return self.iter_v1_pages("leads", **filters)

    def iter_archived_leads(self, **filters: Any) -> Iterator[Page]:
        return self.iter_v1_pages("leads_archived", **filters)

    def iter_deal_flow(self, deal_id: int, *, items: str | None = "dealChange", **filters: Any) -> Iterator[Page]:
        """Pages of a deal's updates, newest first (v1 only; 40 tokens a page, so per deal).

        ``items`` filters by update kind (default: field changes only, which hold the stage and
        status changes: ``field_key``, ``old_value``, ``new_value``, ``log_time``).
        """
        return self.iter_v1_pages("deal_flow", path={"id": int(deal_id)}, items=items, **filters)

    def _collect(self, pages: Iterable[Page]) -> list[dict[str, Any]]:
        return [item for page in pages for item in page.items]

    def get_fields(self, entity: str) -> list[dict[str, Any]]:
        """All field definitions of ``person``, ``deal`` or ``organization`` (v2 ``*Fields``)."""
        if entity not in FIELD_ENDPOINTS:
            raise ValueError(f"fields exist for {sorted(FIELD_ENDPOINTS)}, not {entity!r}")
        return self._collect(self.iter_pages(FIELD_ENDPOINTS[entity]))

    def get_pipelines(self) -> list[dict[str, Any]]:
        return self._collect(self.iter_pages("pipelines"))

    def get_stages(self, pipeline_id: int | None = None) -> list[dict[str, Any]]:
        return self._collect(self.iter_pages("stages", pipeline_id=pipeline_id))

    def get_lead_labels(self) -> list[dict[str, Any]]:
        return self._collect(self.iter_v1_pages("leadLabels"))

    def get_users(self) -> list[dict[str, Any]]:
        return self._collect(self.iter_v1_pages("users"))

    def get_activity_types(self) -> list[dict[str, Any]]:
        return self._collect(self.iter_v1_pages("activityTypes"))

    def get_current_user(self) -> dict[str, Any]:
        return (self._call("users_me") or {}).get("data") or {}

    def get_person(self, person_id: int, **params: Any) -> dict[str, Any]:
        return (self._call("person", params=params, id=person_id) or {}).get("data") or {}

    def update_person(self, person_id: int, fields: Mapping[str, Any]) -> dict[str, Any]:
        """PATCH a person's fields (the Brevo → Pipedrive direction).

        Declared idempotent: setting the same values twice leaves the same person, so a retry
        after a 5xx or a timeout cannot do harm.
        """
        return (self._call("update_person", json_body=dict(fields), idempotent=True, id=person_id) or {}).get("data") or {}

    # ------------------------------------------------------------------------- webhooks
    def list_webhooks(self) -> list[dict[str, Any]]:
        return list((self._call("webhooks") or {}).get("data") or [])

    def create_webhook(self, subscription_url: str, event_action: str, event_object: str, name: str, *,
                       http_auth_user: str | None = None, http_auth_password: str | None = None,
                       version: str = "2.0", user_id: int | None = None) -> dict[str, Any]:
        """Subscribe ``subscription_url``; Pipedrive sends the basic-auth credentials with every event.

        Not retried after a 5xx or timeout (a retry could create a second webhook): list the
        webhooks to see whether it exists before trying again.
        """
        register_secret(http_auth_password)
        body: dict[str, Any] = {"subscription_url": subscription_url, "event_action": event_action,
                                "event_object": event_object, "name": name, "version": version}
        if http_auth_user is not None:
            body["http_auth_user"] = http_auth_user
        if http_auth_password is not None:
            body["http_auth_password"] = http_auth_password
        if user_id is not None:
            body["user_id"] = user_id
        return (self._call("create_webhook", json_body=body) or {}).get("data") or {}

    def delete_webhook(self, webhook_id: int) -> None:
        self._call("delete_webhook", id=webhook_id)


def _format_param(value: Any) -> Any:
    """Query values as Pipedrive reads them: RFC 3339 UTC times, true/false, comma lists."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} is ambiguous; pass an aware (UTC) datetime")
        # Whole seconds as Pipedrive writes times; fractions are kept, never cut: truncating an
        # exclusive ``updated_until`` would drop the records of its last fraction of a second.
        moment = value.astimezone(UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{moment.microsecond:06d}Z" if moment.microsecond else "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple, set, frozenset)):
        return ",".join(str(_format_param(v)) for v in value)
    return value


def _next_start(additional: Mapping[str, Any], start: int, count: int) -> int | None:
    """The next v1 offset, from ``additional_data.pagination`` or (leads) ``additional_data`` itself."""
    pagination = additional.get("pagination") if isinstance(additional.get("pagination"), dict) else additional
    if not pagination.get("more_items_in_collection"):
        return None
    next_start = pagination.get("next_start")
    return int(next_start) if next_start is not None else start + count
