"""The receivers served by a real ``airflow api-server`` through the project's plugin (contract §5).

One api-server on a free loopback port with a throw-away AIRFLOW_HOME and SQLite, a DAG folder holding
stubs of the two triggered DAG ids (so the test does not depend on the real DAGs' progress), the
repository's plugins folder, and the webhook connections as environment variables.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
LOGIN, PASSWORD, TOKEN = "pipedrive", "webhook-pass-123", "brevo-webhook-token-456"

STUB_DAGS = '''
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator

for dag_id in ("pipedrive_webhook_events", "brevo_to_pipedrive"):
    with DAG(dag_id, schedule=None, tags=["stub"]) as dag:
        EmptyOperator(task_id="apply")
    globals()[dag_id] = dag
'''

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def api_server(tmp_path_factory):
    home = tmp_path_factory.mktemp("airflow-home")
    (home / "dags").mkdir()
    (home / "dags" / "stub_webhook_dags.py").write_text(STUB_DAGS)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PIPEDRIVE_BREVO"))}
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__SECRET_KEY": "test-secret-key-" + "x" * 32,
        "AIRFLOW__API_AUTH__JWT_SECRET": "test-jwt-secret-" + "y" * 64,
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",  # a queued run stays queued: no scheduler here
        "PIPEDRIVE_BREVO_DATA": str(home / "data"),
        "AIRFLOW_CONN_PIPEDRIVE_WEBHOOK": json.dumps({"conn_type": "http", "login": LOGIN, "password": PASSWORD}),
        "AIRFLOW_CONN_BREVO_WEBHOOK": json.dumps({"conn_type": "http", "password": TOKEN}),
    })
    started = time.perf_counter()
    for command in (["db", "migrate"], ["dags", "reserialize"]):
        done = subprocess.run([AIRFLOW, *command], env=env, cwd=home, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            pytest.skip(f"`airflow {' '.join(command)}` failed, the api-server cannot start: {done.stderr[-800:]}")
    log = open(home / "api-server.log", "w")  # noqa: SIM115 -- open while the server runs, closed below
    proc = subprocess.Popen([AIRFLOW, "api-server", "-H", "127.0.0.1", "-p", str(port), "-w", "1"], env=env,
                            cwd=home, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{url}/api/v2/monitor/health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.skip(f"the api-server did not start: {(home / 'api-server.log').read_text()[-800:]}")
            time.sleep(0.5)
        print(f"\napi-server ready {time.perf_counter() - started:.1f} s after db migrate started")
        yield {"url": url, "home": home, "data": home / "data"}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def runs(home: Path, dag_id: str) -> list[tuple[str, str]]:
    with sqlite3.connect(home / "airflow.db") as db:
        return db.execute("SELECT run_id, state FROM dag_run WHERE dag_id = ? ORDER BY id", (dag_id,)).fetchall()


def wait_for(predicate, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    return predicate()


def stored(data: Path, source: str) -> list[Path]:
    return [p for p in (data / "webhooks" / source).rglob("*.json") if "quarantine" not in p.parts]


def test_pipedrive_receiver_stores_then_queues_one_run(api_server):
    url, home, data = api_server["url"], api_server["home"], api_server["data"]
    auth = {"Authorization": "Basic " + base64.b64encode(f"{LOGIN}:{PASSWORD}".encode()).decode()}
    body = {"meta": {"action": "change", "entity": "deal", "entity_id": "8", "id": "ev-8", "version": "2.0",
                     "timestamp": "2026-11-24T09:00:00.000Z"},
            "data": {"id": 8, "stage_id": 3}, "previous": {"stage_id": 2}}

    assert requests.post(f"{url}/pipedrive/webhooks", json=body, timeout=10).status_code == 401
    assert requests.post(f"{url}/pipedrive/webhooks", data=b"{oops", headers=auth, timeout=10).status_code == 400
    assert requests.post(f"{url}/pipedrive/webhooks", data=b"x" * (1024 * 1024 + 1), headers=auth,
                         timeout=10).status_code == 413
    assert stored(data, "pipedrive") == []

    answers = [requests.post(f"{url}/pipedrive/webhooks", json={**body, "meta": {**body["meta"], "id": f"ev-{n}"}},
                             headers=auth, timeout=10) for n in range(5)]
    assert [a.status_code for a in answers] == [200] * 5
    assert sorted(json.loads(p.read_text())["meta"]["id"] for p in stored(data, "pipedrive")) == [
        f"ev-{n}" for n in range(5)]
    queued = wait_for(lambda: runs(home, "pipedrive_webhook_events"))
    time.sleep(1.0)  # let any further trigger check land: the burst must still be one queued run
    assert [state for _, state in runs(home, "pipedrive_webhook_events")] == ["queued"]
    assert queued[0][0].startswith("webhook__")


def test_brevo_receiver_stores_then_queues_a_run(api_server):
    url, home, data = api_server["url"], api_server["home"], api_server["data"]
    event = {"id": 17, "email": "ana@example.com", "event": "unsubscribed", "list_id": [3], "ts_event": 1795514400}
    assert requests.post(f"{url}/brevo/webhooks", json=event, headers={"Authorization": "Bearer nope"},
                         timeout=10).status_code == 401
    assert requests.post(f"{url}/brevo/webhooks", json={"event": "nope"}, headers={"Authorization": f"Bearer {TOKEN}"},
                         timeout=10).status_code == 400
    assert requests.post(f"{url}/brevo/webhooks", json=event, headers={"Authorization": f"Bearer {TOKEN}"},
                         timeout=10).status_code == 200
    assert [json.loads(p.read_text()) for p in stored(data, "brevo")] == [event]
    assert wait_for(lambda: runs(home, "brevo_to_pipedrive"))[0][1] == "queued"
    log = (home / "api-server.log").read_text()
    assert PASSWORD not in log and TOKEN not in log


def test_a_burst_of_1000_events_through_the_api_server_is_stored_whole_and_queues_no_second_run(api_server):
    """Pipedrive's burst after a bulk edit, retries included, through the real server (one worker)."""
    from concurrent.futures import ThreadPoolExecutor

    url, home, data = api_server["url"], api_server["home"], api_server["data"]
    auth = {"Authorization": "Basic " + base64.b64encode(f"{LOGIN}:{PASSWORD}".encode()).decode()}
    before = len(stored(data, "pipedrive"))
    # 900 distinct events, 100 of them sent again (Pipedrive's retries), in no particular time order.
    ids = [f"burst-{n}" for n in range(900)] + [f"burst-{n}" for n in range(0, 900, 9)]
    bodies = [{"meta": {"action": "change", "entity": "person", "entity_id": str(n % 300), "id": event_id,
                        "version": "2.0", "timestamp": f"2026-11-24T09:{(n * 7) % 60:02d}:00.000Z"},
               "data": {"id": n % 300, "name": f"Person {n}"}, "previous": {"name": "Old"}}
              for n, event_id in enumerate(ids)]

    def post(body: dict) -> tuple[int, float]:
        with requests.Session() as session:
            started = time.perf_counter()
            status = session.post(f"{url}/pipedrive/webhooks", json=body, headers=auth, timeout=10).status_code
            return status, time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(post, bodies))
    elapsed = time.perf_counter() - started
    seconds = sorted(s for _, s in answers)
    print(f"\n1,000 events through the api-server in {elapsed:.1f} s ({len(bodies) / elapsed:.0f}/s): "
          f"p50 {seconds[499] * 1000:.0f} ms, p95 {seconds[949] * 1000:.0f} ms, max {seconds[-1] * 1000:.0f} ms")

    assert [status for status, _ in answers] == [200] * 1000
    assert seconds[-1] < 10  # Pipedrive gives up after 10 s
    files = stored(data, "pipedrive")
    assert len(files) - before == 1000  # every accepted body stored, retries too (the applier dedupes)
    sent = sorted(i for i in (json.loads(p.read_text())["meta"]["id"] for p in files) if i.startswith("burst-"))
    assert sent == sorted(ids)
    time.sleep(1.0)
    assert [state for _, state in runs(home, "pipedrive_webhook_events")] == ["queued"]  # still the one run
