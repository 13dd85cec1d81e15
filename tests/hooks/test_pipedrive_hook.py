"""PipedriveHook against the Pipedrive sandbox: every method, the limits and the fault switches."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
import requests

from pipedrive_brevo.hooks.connection import (
    ConnectionConfigError,
    base_url_from_connection,
)
from pipedrive_brevo.hooks.pipedrive import PipedriveDialect, PipedriveHook
from pipedrive_brevo.hooks.token_store import MemoryTokenStore
from pipedrive_brevo.http import (
    BlockedError,
    BudgetExhaustedError,
    HeaderAuth,
    HttpClient,
    InvalidResponseError,
    NotFoundError,
    RetryPolicy,
    TransportError,
)
from sandbox.pipedrive.config import (
    DEFAULT_OAUTH_CLIENT_ID,
    DEFAULT_OAUTH_CLIENT_SECRET,
)
from sandbox.server import App, Response
from tests.support.sandboxes import FAST_RETRY, PIPEDRIVE_TOKEN, persons


def hook(**kwargs) -> PipedriveHook:
    kwargs.setdefault("retry", FAST_RETRY)
    kwargs.setdefault("timeout", (2.0, 5.0))
    return PipedriveHook(**kwargs)


def ids_of(pages) -> list[int]:
    return [item["id"] for page in pages for item in page.items]


# ------------------------------------------------------------------------------ connection
def test_base_url_rules():
    assert base_url_from_connection("https://api.pipedrive.com/", None, None, "c", default_url="x") == \
        "https://api.pipedrive.com"
    assert base_url_from_connection("acme.pipedrive.com", 8443, None, "c", default_url="x") == "https://acme.pipedrive.com:8443"
    assert base_url_from_connection("127.0.0.1", 8080, "http", "c", default_url="x") == "http://127.0.0.1:8080"
    assert base_url_from_connection("http://localhost:9/api/v2", None, None, "c", default_url="x",
                                    strip_suffixes=("/api/v2",)) == "http://localhost:9"
    assert base_url_from_connection(None, None, None, "c", default_url="https://api.pipedrive.com") == \
        "https://api.pipedrive.com"
    with pytest.raises(ConnectionConfigError, match=r"'pipedrive_default'.*plain http"):
        base_url_from_connection("http://api.pipedrive.com", None, None, "pipedrive_default", default_url="x")
    with pytest.raises(ConnectionConfigError, match="not an http"):
        base_url_from_connection("ftp://api.pipedrive.com", None, None, "c", default_url="x")


def test_connection_errors_name_the_connection(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_PIPEDRIVE_DEFAULT", json.dumps({"conn_type": "http", "host": "https://x.example"}))
    ok, message = hook().test_connection()
    assert not ok and "'pipedrive_default' has no API token" in message
    monkeypatch.setenv("AIRFLOW_CONN_PD_OAUTH", json.dumps(
        {"conn_type": "http", "host": "https://x.example", "extra": {"client_id": "a", "client_secret": "b"}}))
    with pytest.raises(ConnectionConfigError, match=r"'pd_oauth'.*missing refresh_token"):
        _ = hook(pipedrive_conn_id="pd_oauth").client
    monkeypatch.setenv("AIRFLOW_CONN_PD_PLAIN", json.dumps(
        {"conn_type": "http", "host": "http://api.pipedrive.com", "password": "tok-123456"}))
    with pytest.raises(ConnectionConfigError, match="'pd_plain'"):
        _ = hook(pipedrive_conn_id="pd_plain").client


def test_constructing_the_hook_reads_no_connection(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_PIPEDRIVE_DEFAULT", raising=False)
    h = hook()  # no connection exists: only a later call may fail
    assert h.pipedrive_conn_id == "pipedrive_default"
    assert (PipedriveHook.conn_name_attr, PipedriveHook.default_conn_name, PipedriveHook.conn_type) == \
        ("pipedrive_conn_id", "pipedrive_default", "http")


def test_test_connection_names_the_user(pipedrive):
    pipedrive()
    ok, message = hook().test_connection()
    assert ok and message == "Connected to Pipedrive as Sandbox Admin (Sandbox Company)"


# ---------------------------------------------------------------------------------- v2 lists
def test_cursor_scan_yields_every_person_once_in_pages_of_500(pipedrive):
    sandbox = pipedrive()
    sandbox.admin("POST", "/records/persons", persons(range(1, 1235)))
    h = hook()
    pages = list(h.iter_persons(sort_by="id"))
    assert [len(p.items) for p in pages] == [500, 500, 234]
    assert ids_of(pages) == list(range(1, 1235))
    assert pages[-1].next_cursor is None and pages[0].next_cursor
    # 3 list calls at 10 tokens; the header, never the URL, carries the token.
    assert h.stats.snapshot()["calls"] == 3 and h.stats["tokens"] == 30
    assert sandbox.admin("GET", "/pipedrive/usage")["tokens_spent"] == 30
    assert sandbox.counters().get("auth:query_token", 0) == 0


def test_a_scan_resumes_from_a_cursor(pipedrive):
    sandbox = pipedrive()
    sandbox.admin("POST", "/records/persons", persons(range(1, 31)))
    h = hook(page_size=10)
    first = next(h.iter_persons(sort_by="id"))
    rest = list(h.iter_persons(sort_by="id", cursor=first.next_cursor))
    assert ids_of([first, *rest]) == list(range(1, 31))


def test_update_window_is_inclusive_since_and_exclusive_until(pipedrive):
    sandbox = pipedrive()
    stamps = ["2026-01-01T09:59:59Z", "2026-01-01T10:00:00Z", "2026-01-01T10:30:00Z",
              "2026-01-01T10:59:59Z", "2026-01-01T11:00:00Z"]
    sandbox.admin("POST", "/records/persons",
                  [dict(p, update_time=t) for p, t in zip(persons(range(1, 6)), stamps, strict=True)])
    pages = hook().iter_persons(updated_since=datetime(2026, 1, 1, 10, tzinfo=UTC),
                                updated_until="2026-01-01T11:00:00Z", sort_by="update_time", sort_direction="desc")
    assert ids_of(pages) == [4, 3, 2]


def test_naive_datetimes_are_refused_and_fractions_are_kept():
    from pipedrive_brevo.hooks.pipedrive import _format_param

    assert _format_param(datetime(2026, 1, 1, 10, 0, 0, 250000, tzinfo=UTC)) == "2026-01-01T10:00:00.250000Z"
    assert _format_param([1, 2, 3]) == "1,2,3" and _format_param(True) == "true"
    with pytest.raises(ValueError, match="naive"):
        _format_param(datetime(2026, 1, 1))


def test_more_than_100_ids_are_split_into_scans(pipedrive):
    sandbox = pipedrive()
    sandbox.admin("POST", "/records/persons", persons(range(1, 201)))
    h = hook()
    wanted = list(range(2, 201, 2)) + [1, 3, 5]  # 103 ids
    found = ids_of(h.iter_persons(ids=wanted))
    assert sorted(found) == sorted(wanted)
    assert h.stats["calls"] == 2


def test_include_fields_reaches_the_server(pipedrive):
    sandbox = pipedrive()
    sandbox.admin("POST", "/records/persons", persons(range(1, 3)))
    sandbox.admin("POST", "/records/deals", [{"id": 1, "title": "D", "person_id": 1, "status": "won", "value": 10}])
    page = next(hook().iter_persons(include_fields=["won_deals_count"], ids=[1]))
    assert page.items[0]["won_deals_count"] == 1


def test_a_misspelled_parameter_is_refused_without_a_request(pipedrive):
    sandbox = pipedrive()
    h = hook()
    with pytest.raises(ValueError, match="updated_sinc"):
        next(h.iter_persons(updated_sinc="2026-01-01T00:00:00Z"))
    assert sandbox.counters().get("requests", 0) == 0


def test_deals_archived_deals_activities_and_organizations(pipedrive):
    sandbox = pipedrive()
    sandbox.admin("POST", "/records/organizations", [{"id": 1, "name": "Org"}])
    sandbox.admin("POST", "/records/deals", [{"id": 1, "title": "Open", "status": "open"},
                                             {"id": 2, "title": "Gone", "status": "won", "is_archived": True}])
    sandbox.admin("POST", "/records/activities", [{"id": 1, "subject": "Call", "type": "call", "deal_id": 1}])
    h = hook()
    assert ids_of(h.iter_organizations()) == [1]
    assert ids_of(h.iter_deals()) == [1]
    assert ids_of(h.iter_archived_deals()) == [2]
    assert ids_of(h.iter_activities(deal_id=1)) == [1]
    assert h.stats["tokens"] == 10 + 10 + 20 + 10


def test_fields_pipelines_stages_and_v1_collections(pipedrive):
    sandbox = pipedrive()
    sandbox.admin("POST", "/records/leads", [{"title": f"Lead {i}"} for i in range(5)])
    h = hook()
    assert {f["field_code"] for f in h.get_fields("person")} >= {"name", "emails"}
    assert h.get_fields("deal") and h.get_fields("organization")
    with pytest.raises(ValueError):
        h.get_fields("lead")
    assert [p["name"] for p in h.get_pipelines()] == ["Sales pipeline"]
    assert {s["pipeline_id"] for s in h.get_stages(pipeline_id=1)} == {1}
    leads = list(h.iter_leads(sort="update_time ASC", limit=2))
    assert [len(p.items) for p in leads] == [2, 2, 1] and [p.next_start for p in leads] == [2, 4, None]
    assert [p.items for p in h.iter_archived_leads()] == [[]]
    assert [u["name"] for u in h.get_users()] == ["Sandbox Admin"]
    assert h.get_activity_types() and h.get_lead_labels()
    assert h.get_current_user()["is_you"] is True


def test_get_and_update_a_person(pipedrive):
    sandbox = pipedrive()
    sandbox.admin("POST", "/records/persons", persons(range(1, 2)))
    h = hook()
    assert h.update_person(1, {"name": "Ada Lovelace"})["name"] == "Ada Lovelace"
    assert h.get_person(1)["name"] == "Ada Lovelace"
    with pytest.raises(NotFoundError) as info:
        h.get_person(99)
    assert info.value.status == 404 and "Entity was not found" in str(info.value)


def test_webhooks_create_with_basic_auth_list_and_delete(pipedrive):
    sandbox = pipedrive()
    h = hook()
    created = h.create_webhook("https://airflow.example.com/pipedrive/webhooks", "*", "person", "sync",
                               http_auth_user="pd", http_auth_password="hook-pass-123")
    assert created["http_auth_user"] == "pd" and created.get("http_auth_password") is None
    stored = sandbox.admin("GET", "/pipedrive/webhooks")
    assert stored[0]["http_auth_password"] == "hook-pass-123"
    assert [w["id"] for w in h.list_webhooks()] == [created["id"]]
    h.delete_webhook(created["id"])
    assert h.list_webhooks() == []


# ----------------------------------------------------------------------------------- OAuth
def oauth_connection(sandbox, monkeypatch, conn_id: str = "pd_oauth", host: str = "https://api.pipedrive.com") -> str:
    code = sandbox.admin("POST", "/oauth/code")["code"]
    token = requests.post(f"{sandbox.url}/oauth/token", data={"grant_type": "authorization_code", "code": code},
                          auth=(DEFAULT_OAUTH_CLIENT_ID, DEFAULT_OAUTH_CLIENT_SECRET), timeout=5).json()
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({
        "conn_type": "http", "host": host,
        "extra": {"client_id": DEFAULT_OAUTH_CLIENT_ID, "client_secret": DEFAULT_OAUTH_CLIENT_SECRET,
                  "refresh_token": token["refresh_token"], "token_url": f"{sandbox.url}/oauth/token"}}))
    return token["refresh_token"]


def token_calls(sandbox) -> int:
    return sandbox.counters().get("route:POST /oauth/token", 0)


def test_oauth_goes_to_api_domain_and_refreshes_when_the_token_expires_mid_run(pipedrive, monkeypatch):
    sandbox = pipedrive()
    sandbox.admin("POST", "/records/persons", persons(range(1, 31)))
    oauth_connection(sandbox, monkeypatch)  # host says api.pipedrive.com: only api_domain can reach the sandbox
    store = MemoryTokenStore()
    h = hook(pipedrive_conn_id="pd_oauth", token_store=store, page_size=10)
    before = token_calls(sandbox)
    pages = h.iter_persons(sort_by="id")
    first = next(pages)
    sandbox.admin("POST", "/oauth/expire")  # every access token dies between two pages
    rest = list(pages)
    assert ids_of([first, *rest]) == list(range(1, 31))
    assert token_calls(sandbox) - before == 2  # the first token, then one refresh after the 401
    assert h.client.auth.refresh_count == 2
    assert store.load("pipedrive_oauth_token__pd_oauth")["api_domain"] == sandbox.url


def test_oauth_refreshes_before_expiry_and_the_next_task_reuses_the_stored_token(pipedrive, monkeypatch):
    sandbox = pipedrive(access_token_ttl=2)
    oauth_connection(sandbox, monkeypatch)
    store = MemoryTokenStore()
    first = hook(pipedrive_conn_id="pd_oauth", token_store=store, refresh_margin_s=0.5)
    first.get_current_user()
    calls = token_calls(sandbox)
    second = hook(pipedrive_conn_id="pd_oauth", token_store=store, refresh_margin_s=0.5)  # "the next task"
    second.get_current_user()
    assert token_calls(sandbox) == calls  # reused, not refreshed
    time.sleep(1.6)  # now within the refresh margin of the 2 s lifetime
    second.get_current_user()
    assert token_calls(sandbox) == calls + 1
    assert sandbox.counters().get("status:401", 0) == 0  # refreshed before the server had to refuse


def test_a_revoked_grant_is_an_auth_error_naming_the_endpoint(pipedrive, monkeypatch):
    sandbox = pipedrive()
    oauth_connection(sandbox, monkeypatch)
    env = json.loads(__import__("os").environ["AIRFLOW_CONN_PD_OAUTH"])
    env["extra"]["refresh_token"] = "1:1:not-a-real-refresh-token"
    monkeypatch.setenv("AIRFLOW_CONN_PD_OAUTH", json.dumps(env))
    h = hook(pipedrive_conn_id="pd_oauth", token_store=MemoryTokenStore())
    with pytest.raises(Exception) as info:
        h.get_current_user()
    assert "OAuth token endpoint" in str(info.value) and "invalid_grant" in str(info.value)
    assert "not-a-real-refresh-token" not in str(info.value)


# ------------------------------------------------------------------------- limits and faults
def test_pacing_keeps_under_a_small_burst_limit_without_a_429(pipedrive):
    sandbox = pipedrive(burst_limit=5, burst_window_seconds=0.5)
    sandbox.admin("POST", "/records/persons", persons(range(1, 201)))
    h = hook(page_size=10, rate_window_s=0.5)
    started = time.monotonic()
    assert ids_of(h.iter_persons(sort_by="id")) == list(range(1, 201))
    elapsed = time.monotonic() - started
    usage = sandbox.admin("GET", "/pipedrive/usage")["tokens"]["api_token:1"]
    assert usage["responses_429"] == 0 and h.stats["http_429"] == 0
    # 20 requests at 5 per 0.5 s: the 20th may go when the 15th is 0.5 s old: >= 1.5 s, and not much more.
    assert 1.5 <= elapsed < 2.6


def test_a_429_storm_is_ridden_out(pipedrive):
    sandbox = pipedrive(burst_window_seconds=0.5)  # the storm's reset header: int(0.5) = 0 s
    sandbox.admin("POST", "/records/persons", persons(range(1, 21)))
    sandbox.faults(storm_429=3)
    h = hook(page_size=10)
    assert ids_of(h.iter_persons(sort_by="id")) == list(range(1, 21))
    assert h.stats["http_429"] == 3 and h.stats["retries"] == 3


def test_5xx_truncated_and_non_json_answers_are_retried_without_losing_or_repeating_a_record(pipedrive):
    sandbox = pipedrive()
    sandbox.admin("POST", "/records/persons", persons(range(1, 101)))
    sandbox.faults(error_rate=0.2, truncate_rate=0.15, nonjson_rate=0.05, seed=3)
    h = hook(page_size=10, retry=RetryPolicy(max_attempts=10, backoff_base_s=0.005, backoff_max_s=0.02))
    assert ids_of(h.iter_persons(sort_by="id")) == list(range(1, 101))
    counters = sandbox.counters()
    faults = counters.get("faults:5xx", 0) + counters.get("faults:truncated", 0) + counters.get("faults:nonjson", 0)
    assert faults > 0 and h.stats["retries"] == faults and h.stats["calls"] == 10 + faults


def test_slow_answers_within_the_timeout_pass_and_beyond_it_fail_as_transport_errors(pipedrive):
    sandbox = pipedrive()
    sandbox.faults(latency_ms=150)
    assert hook(timeout=(1.0, 1.0)).get_current_user()["id"] == 1
    h = hook(timeout=(1.0, 0.05), retry=RetryPolicy(max_attempts=2, backoff_base_s=0.01))
    with pytest.raises(TransportError) as info:
        h.get_current_user()
    assert h.stats["calls"] == 2 and "ReadTimeout" in str(info.value)


def test_a_spent_budget_raises_a_distinct_error_and_sends_nothing_more(pipedrive):
    sandbox = pipedrive(daily_budget=25)
    sandbox.admin("POST", "/records/persons", persons(range(1, 51)))
    h = hook(page_size=10)
    seen: list[int] = []
    last_cursor = None
    with pytest.raises(BudgetExhaustedError) as info:
        for page in h.iter_persons(sort_by="id"):
            seen.extend(item["id"] for item in page.items)
            last_cursor = page.next_cursor
    # 10 + 10 + 10 (the page that crosses zero is served), then the 4th is refused.
    assert seen == list(range(1, 31)) and last_cursor
    assert info.value.status == 429
    with pytest.raises(BudgetExhaustedError):
        h.get_current_user()
    assert sandbox.admin("GET", "/pipedrive/usage")["tokens"]["api_token:1"]["responses_429"] == 1
    # After the reset (here: a new budget) the scan resumes from the checkpointed cursor.
    sandbox.admin("POST", "/pipedrive/config", {"daily_budget": 1000})
    resumed = ids_of(hook(page_size=10).iter_persons(sort_by="id", cursor=last_cursor))
    assert resumed == list(range(31, 51))


def test_a_cloudflare_block_is_reported_as_a_block_and_stops_the_client(pipedrive):
    sandbox = pipedrive(burst_limit=1, block_after_429s=2, block_seconds=30)
    for _ in range(5):  # someone else hammers with the same token and earns the block
        requests.get(f"{sandbox.url}/api/v2/persons", headers={"x-api-token": PIPEDRIVE_TOKEN}, timeout=5)
    h = hook()
    with pytest.raises(BlockedError) as info:
        h.get_current_user()
    assert info.value.status == 403 and "firewall" in str(info.value) and "Cloudflare" in str(info.value)
    before = sandbox.counters()["requests"]
    with pytest.raises(BlockedError):
        h.get_current_user()
    assert sandbox.counters()["requests"] == before  # nothing more was sent


def test_success_false_in_a_2xx_body_is_an_error(serve):
    app = App("pd-quirk")
    app.route("GET", "/v1/users/me")(lambda r: Response.json(
        {"success": False, "error": "Feature capped", "data": None}, status=200))
    client = HttpClient(serve(app).url, PipedriveDialect(), HeaderAuth("x-api-token", "tok-abcdef"),
                        retry=FAST_RETRY)
    with pytest.raises(InvalidResponseError, match="Feature capped"):
        client.request("GET", "/v1/users/me")


# ------------------------------------------------------------------------------ no secrets
def test_no_token_or_oauth_secret_in_logs_or_exceptions_on_any_failure_path(pipedrive, monkeypatch, caplog, capsys):
    caplog.set_level("DEBUG")
    sandbox = pipedrive(burst_window_seconds=0.5)
    sandbox.admin("POST", "/records/persons", persons(range(1, 31)))
    refresh_token = oauth_connection(sandbox, monkeypatch)
    texts: list[str] = []

    def failure(call) -> None:
        with pytest.raises(Exception) as info:
            call()
        texts.append(str(info.value))

    o = hook(pipedrive_conn_id="pd_oauth", token_store=MemoryTokenStore(), retry=RetryPolicy(max_attempts=2))
    o.get_current_user()
    access_token = o.client.auth.headers()["Authorization"].split()[1]
    sandbox.admin("POST", "/oauth/expire")
    o.get_current_user()  # refreshed after a 401
    refreshed_token = o.client.auth.headers()["Authorization"].split()[1]
    h = hook(page_size=10, retry=RetryPolicy(max_attempts=2, backoff_base_s=0.001))
    sandbox.faults(error_rate=1.0)
    failure(h.get_current_user)
    failure(o.get_current_user)
    sandbox.faults(reset=True, storm_429=10)
    failure(h.get_current_user)
    sandbox.faults(reset=True)
    failure(lambda: h.get_person(999))
    sandbox.admin("POST", "/pipedrive/config", {"daily_budget": 15})
    failure(lambda: list(h.iter_persons()))
    texts.append(repr(o.client.auth) + repr(o.client.auth.grant))
    captured = capsys.readouterr()
    everything = "\n".join(texts) + caplog.text + captured.out + captured.err
    assert len(texts) == 6
    for secret in (PIPEDRIVE_TOKEN, refresh_token, access_token, refreshed_token, DEFAULT_OAUTH_CLIENT_SECRET):
        assert secret not in everything
    assert "retry" in caplog.text


def test_host_without_scheme_and_a_separate_port_reach_the_sandbox(pipedrive, monkeypatch):
    sandbox = pipedrive()
    monkeypatch.setenv("AIRFLOW_CONN_PD_PORT", json.dumps(
        {"conn_type": "http", "host": "127.0.0.1", "schema": "http", "port": sandbox.server.port,
         "password": PIPEDRIVE_TOKEN}))
    h = hook(pipedrive_conn_id="pd_port")
    assert h.client.base_url == sandbox.url
    assert h.get_current_user()["id"] == 1


def test_token_store_outside_a_task_keeps_tokens_in_process():
    from pipedrive_brevo.hooks.token_store import (
        AirflowVariableTokenStore,
        variable_name,
    )

    store = AirflowVariableTokenStore()
    name = variable_name("pipedrive", "pd_x")
    assert name == "pipedrive_oauth_token__pd_x" and "token" in name  # Airflow masks such names
    assert store.load(name) is None
    store.save(name, {"access_token": "at-123456789", "expires_at": 1e12, "api_domain": "https://x.example"})
    assert store.load(name)["access_token"] == "at-123456789"
    assert AirflowVariableTokenStore().load(name) is None  # another process (store) does not see it
