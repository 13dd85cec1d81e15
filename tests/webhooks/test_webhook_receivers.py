"""The webhook receivers through FastAPI's test client: auth, size bound, bad bodies, storage, triggering."""

from __future__ import annotations

import base64
import json
import logging
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from pipedrive_brevo import webhook_store
from pipedrive_brevo.storage import DataLocation
from pipedrive_brevo.webhooks.receivers import (
    CachedSecrets,
    Secret,
    create_brevo_app,
    create_pipedrive_app,
)

LOGIN, PASSWORD, TOKEN = "pipedrive", "webhook-pass-123", "brevo-webhook-token-456"


def basic(login: str = LOGIN, password: str = PASSWORD) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()}


BEARER = {"Authorization": f"Bearer {TOKEN}"}


def v2_body(n: int, event_id: str | None = None) -> dict:
    return {"meta": {"action": "change", "entity": "deal", "entity_id": str(n), "id": event_id or f"ev-{n}",
                     "timestamp": "2026-11-24T09:00:00.000Z", "version": "2.0", "attempt": 1},
            "data": {"id": n, "stage_id": 2, "update_time": "2026-11-24T09:00:00Z"}, "previous": {"stage_id": 1}}


class Triggers:
    """A stand-in for ensure_queued_run: records each check and how many events were stored then."""

    def __init__(self, store: DataLocation, source: str, delay: float = 0.0, fail: bool = False):
        self.store, self.source, self.delay, self.fail = store, source, delay, fail
        self.seen: list[int] = []

    def __call__(self, dag_id: str) -> str | None:
        self.seen.append(len(stored(self.store, self.source)))
        time.sleep(self.delay)
        if self.fail:
            raise RuntimeError("scheduler database is down")
        return f"run-{len(self.seen)}"


@pytest.fixture
def store(tmp_path) -> DataLocation:
    return DataLocation(str(tmp_path))


def secrets(**by_conn: Secret | None) -> CachedSecrets:
    return CachedSecrets(lambda conn_id: by_conn.get(conn_id))


@pytest.fixture
def pipedrive_app(store):
    triggers = Triggers(store, "pipedrive")
    app = create_pipedrive_app(store=store, secrets=secrets(pipedrive_webhook=Secret(LOGIN, PASSWORD)),
                               trigger=triggers)
    app.state.triggers = triggers
    return app


def stored(store: DataLocation, source: str) -> list[str]:
    return [k for k in store.list(f"webhooks/{source}/") if "/quarantine/" not in k]


@pytest.mark.parametrize("headers", [
    {}, basic(password="wrong"), basic(login="other"), {"Authorization": "Basic !!notbase64"},
    {"Authorization": f"Bearer {PASSWORD}"}, {"Authorization": "Basic " + base64.b64encode(PASSWORD.encode()).decode()},
])
def test_pipedrive_without_valid_basic_auth_is_401_and_stores_nothing(pipedrive_app, store, headers):
    response = TestClient(pipedrive_app).post("/webhooks", json=v2_body(1), headers=headers)
    assert response.status_code == 401 and response.headers["www-authenticate"].startswith("Basic")
    assert store.list("webhooks/") == [] and pipedrive_app.state.triggers.seen == []
    assert PASSWORD not in response.text


def test_a_missing_connection_refuses_everything_with_401_and_no_secret_in_the_log(store, monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_PIPEDRIVE_WEBHOOK", raising=False)
    app = create_pipedrive_app(store=store, trigger=lambda dag_id: None)  # real Airflow connection look-up
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    logging.getLogger("pipedrive_brevo.webhooks.receivers").addHandler(handler)
    try:
        response = TestClient(app).post("/webhooks", json=v2_body(1), headers=basic())
    finally:
        logging.getLogger("pipedrive_brevo.webhooks.receivers").removeHandler(handler)
    assert response.status_code == 401 and "pipedrive_webhook" in response.json()["message"]  # contract §5
    assert store.list("webhooks/") == []
    logged = " ".join(r.getMessage() for r in records)
    assert "connection 'pipedrive_webhook' is not available" in logged and PASSWORD not in logged


def test_the_connection_is_read_through_airflow(store, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_PIPEDRIVE_WEBHOOK", json.dumps(
        {"conn_type": "http", "host": "https://example.com", "login": LOGIN, "password": PASSWORD}))
    app = create_pipedrive_app(store=store, trigger=lambda dag_id: None)
    client = TestClient(app)
    assert client.post("/webhooks", json=v2_body(1), headers=basic(password="nope")).status_code == 401
    assert client.post("/webhooks", json=v2_body(1), headers=basic()).status_code == 200
    assert len(stored(store, "pipedrive")) == 1


def test_v2_and_v1_bodies_are_stored_exactly_as_received_then_the_dag_is_poked(pipedrive_app, store):
    client = TestClient(pipedrive_app)
    v1 = {"v": 1, "event": "updated.person", "retry": 0, "current": {"id": 7, "name": "Ana"},
          "previous": {"id": 7, "name": "Ann"},
          "meta": {"v": 1, "action": "updated", "object": "person", "id": 7, "timestamp": 1795514400,
                   "webhook_id": 3, "company_id": 1}}
    first = client.post("/webhooks", json=v2_body(5), headers=basic())
    second = client.post("/webhooks", json=v1, headers=basic())
    assert first.status_code == second.status_code == 200
    assert first.json()["event_ids"] == ["ev-5"] and second.json()["event_ids"][0].startswith("v1-")
    events = webhook_store.pending_events(store, "pipedrive")
    assert [e.body for e in events] == [v2_body(5), v1]
    assert pipedrive_app.state.coalescer.wait_idle()
    assert pipedrive_app.state.triggers.seen and pipedrive_app.state.triggers.seen[-1] == 2


def test_over_one_mib_is_413_by_header_and_by_streamed_body(pipedrive_app, store):
    client = TestClient(pipedrive_app)
    big = json.dumps({**v2_body(1), "pad": "x" * (1024 * 1024)}).encode()
    assert client.post("/webhooks", content=big, headers=basic()).status_code == 413

    def chunks():  # no Content-Length: the bound is enforced while reading
        for _ in range(20):
            yield b" " * 65536
        yield json.dumps(v2_body(1)).encode()

    response = client.post("/webhooks", content=chunks(), headers=basic())
    assert response.status_code == 413
    exactly = json.dumps(v2_body(1)).encode().ljust(1024 * 1024)  # the bound itself is accepted
    assert client.post("/webhooks", content=exactly, headers=basic()).status_code == 200
    assert len(stored(store, "pipedrive")) == 1 and store.list("webhooks/pipedrive/quarantine/") == []


@pytest.mark.parametrize(("raw", "reason"), [
    (b'{"meta": {"action": "change"', "body is not JSON"),
    (b'{"meta": {"action": "upsert", "entity": "deal", "id": "x"}, "data": {}}', "unknown pipedrive payload"),
    (b'"just a string"', "unknown pipedrive payload"),
    (b"\xff\xfe\x00garbage", "body is not JSON"),
])
def test_bad_bodies_are_400_and_quarantined_with_their_reason(pipedrive_app, store, raw, reason):
    response = TestClient(pipedrive_app).post("/webhooks", content=raw, headers=basic())
    assert response.status_code == 400 and reason in response.json()["message"]
    key = response.json()["quarantined"]
    assert store.read_bytes(key) == raw
    assert reason in store.read_json(key.removesuffix(".body") + ".json")["reason"]
    assert stored(store, "pipedrive") == [] and pipedrive_app.state.triggers.seen == []


def test_brevo_bearer_token_single_and_batched_events(store):
    triggers = Triggers(store, "brevo")
    app = create_brevo_app(store=store, secrets=secrets(brevo_webhook=Secret("", TOKEN)), trigger=triggers)
    client = TestClient(app)
    event = {"id": 17, "email": "ana@example.com", "event": "unsubscribed", "list_id": [3], "ts_event": 1795514400}
    assert client.post("/webhooks", json=event).status_code == 401
    assert client.post("/webhooks", json=event, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.post("/webhooks", json=event, headers=basic("", TOKEN)).status_code == 401
    assert store.list("webhooks/") == []

    assert client.post("/webhooks", json=event, headers=BEARER).status_code == 200
    batch = [{"email": "b@x.io", "event": "list_addition", "list_id": [4], "key": "k", "ts": 1},
             {"email": "c@x.io", "event": "contact_deleted", "list_id": [4], "ts": 2}]
    response = client.post("/webhooks", json=batch, headers=BEARER)
    assert response.status_code == 200 and response.json()["stored"] == 2
    assert [e.body for e in webhook_store.pending_events(store, "brevo")] == [event, *batch]

    unknown = client.post("/webhooks", json=[batch[0], {"email": "d@x.io", "event": "contact_created"}],
                          headers=BEARER)
    assert unknown.status_code == 400 and "contact_created" in unknown.json()["message"]
    assert len(webhook_store.pending_events(store, "brevo")) == 3  # the half-good batch is not half-stored
    assert app.state.coalescer.wait_idle() and triggers.seen[-1] == 3


def test_a_failing_trigger_or_storage_never_acknowledges_wrongly(store):
    failing = Triggers(store, "pipedrive", fail=True)
    app = create_pipedrive_app(store=store, secrets=secrets(pipedrive_webhook=Secret(LOGIN, PASSWORD)),
                               trigger=failing)
    assert TestClient(app).post("/webhooks", json=v2_body(1), headers=basic()).status_code == 200
    assert app.state.coalescer.wait_idle() and app.state.coalescer.failures == 1
    assert len(stored(store, "pipedrive")) == 1

    class Broken(DataLocation):
        def write_bytes(self, relpath, data):
            raise OSError("disk full")

    broken = create_pipedrive_app(store=Broken(store.root_url),
                                  secrets=secrets(pipedrive_webhook=Secret(LOGIN, PASSWORD)), trigger=failing)
    assert TestClient(broken).post("/webhooks", json=v2_body(2), headers=basic()).status_code == 500


def test_a_burst_of_1000_events_is_stored_exactly_once_each_answered_fast_and_coalesced(store):
    triggers = Triggers(store, "pipedrive", delay=0.05)  # a metastore round trip
    app = create_pipedrive_app(store=store, secrets=secrets(pipedrive_webhook=Secret(LOGIN, PASSWORD)),
                               trigger=triggers)
    # 900 distinct events, 100 of them delivered twice (Pipedrive retries): 1,000 requests
    bodies = [v2_body(n) for n in range(900)] + [v2_body(n) for n in range(0, 900, 9)]
    latencies: list[float] = []
    lock = threading.Lock()

    with TestClient(app) as client:
        def post(body: dict) -> int:
            started = time.perf_counter()
            status = client.post("/webhooks", json=body, headers=basic()).status_code
            with lock:
                latencies.append(time.perf_counter() - started)
            return status

        started = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(post, bodies))
        took = time.perf_counter() - started
        assert app.state.coalescer.wait_idle()

    assert statuses == [200] * 1000
    events = webhook_store.pending_events(store, "pipedrive")
    assert len(events) == len({e.key for e in events}) == 1000  # every request stored once, none lost
    ids = [e.body["meta"]["id"] for e in events]
    assert len(set(ids)) == 900 and sorted(ids) == sorted(b["meta"]["id"] for b in bodies)
    # the DAG is poked a handful of times, and the last check came after the last event was stored
    assert 1 <= len(triggers.seen) < 100 and triggers.seen[-1] == 1000
    latencies.sort()
    p50, p95 = statistics.median(latencies), latencies[int(0.95 * len(latencies))]
    assert latencies[-1] < 10.0  # Pipedrive's limit
    print(f"\nburst: 1000 events in {took:.2f} s ({1000 / took:.0f}/s), latency p50 {p50 * 1000:.1f} ms, "
          f"p95 {p95 * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms; {len(triggers.seen)} trigger checks")


def test_out_of_order_events_are_all_kept_with_what_orders_them(pipedrive_app, store):
    """Pipedrive may deliver a later change first (a retry of the earlier one comes 3 s later)."""
    from pipedrive_brevo.webhooks.payloads import parse_pipedrive

    later = v2_body(3, "ev-later")
    later["meta"]["timestamp"], later["data"]["update_time"] = "2026-11-24T09:05:00.000Z", "2026-11-24T09:05:00Z"
    earlier = v2_body(3, "ev-earlier")
    earlier["meta"]["attempt"] = 2
    client = TestClient(pipedrive_app)
    assert [client.post("/webhooks", json=b, headers=basic()).status_code for b in (later, earlier)] == [200, 200]
    events = [parse_pipedrive(e.body) for e in webhook_store.pending_events(store, "pipedrive")]
    assert [e.event_id for e in events] == ["ev-later", "ev-earlier"]  # arrival order is kept as is
    by_change = sorted(events, key=lambda e: e.update_time)
    assert [e.event_id for e in by_change] == ["ev-earlier", "ev-later"] and by_change[0].attempt == 2
