"""The Pipedrive sandbox POSTs its webhooks when records change, as research pipedrive-api.md §6 says."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time

import requests

from sandbox.server import App, Request, Response
from tests.support.sandboxes import PIPEDRIVE_TOKEN

FAST = {"webhook_retry_delays": (0.05, 0.05, 0.05)}
API = {"x-api-token": PIPEDRIVE_TOKEN}


class Receiver:
    """A loopback endpoint that records what it gets and answers the statuses it is told."""

    def __init__(self, serve, statuses: list[int] | None = None):
        self.calls: list[dict] = []
        self.statuses = list(statuses or [])
        app = App("receiver")

        @app.route("POST", "/hook")
        def hook(request: Request) -> Response:
            self.calls.append({"headers": dict(request.headers), "body": json.loads(request.body)})
            return Response.json({}, status=self.statuses.pop(0) if self.statuses else 200)

        self.url = serve(app).url + "/hook"

    def bodies(self, **meta) -> list[dict]:
        return [c["body"] for c in self.calls if all(c["body"]["meta"].get(k) == v for k, v in meta.items())]


def add_webhook(sandbox, url: str, action: str = "*", obj: str = "*", version: str | None = None,
                user: str = "hook-user", password: str = "hook-pass") -> dict:
    body = {"subscription_url": url, "event_action": action, "event_object": obj, "name": "test",
            "http_auth_user": user, "http_auth_password": password}
    if version:
        body["version"] = version
    response = requests.post(f"{sandbox.url}/v1/webhooks", json=body, headers=API, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["data"]


def drain(sandbox) -> None:
    assert sandbox.admin("POST", "/pipedrive/webhook_deliveries/wait", {"timeout": 10})["drained"] is True


def test_v2_create_change_delete_bodies_with_basic_auth(pipedrive, serve):
    sandbox = pipedrive(**FAST)
    receiver = Receiver(serve)
    hook = add_webhook(sandbox, receiver.url, obj="person")  # version defaults to 2.0

    sandbox.admin("POST", "/records/persons", {"id": 501, "name": "Ana", "emails": [{"value": "a@x.io"}]})
    sandbox.admin("POST", "/records/persons", {"id": 501, "name": "Ana Lima", "custom_fields": {"k1": 3}})
    sandbox.admin("POST", "/records/persons", {"id": 501, "name": "Ana Lima"})  # nothing changes: no webhook
    sandbox.admin("POST", "/records/organizations", {"id": 77, "name": "Org"})  # not subscribed
    sandbox.admin("POST", "/records/persons/delete", {"ids": [501]})
    drain(sandbox)

    assert [c["body"]["meta"]["action"] for c in receiver.calls] == ["create", "change", "delete"]
    expected_auth = "Basic " + base64.b64encode(b"hook-user:hook-pass").decode()
    assert {c["headers"]["authorization"] for c in receiver.calls} == {expected_auth}
    create, change, delete = (c["body"] for c in receiver.calls)
    meta = create["meta"]
    assert (meta["entity"], meta["entity_id"], meta["version"], meta["attempt"]) == ("person", "501", "2.0", 1)
    assert meta["webhook_id"] == str(hook["id"]) and meta["change_source"] == "app" and meta["type"] == "general"
    assert meta["timestamp"].endswith("Z") and len({c["body"]["meta"]["id"] for c in receiver.calls}) == 3
    assert create["previous"] is None and create["data"]["name"] == "Ana" and create["data"]["id"] == 501
    # change: the whole record in data, only the changed fields' old values in previous
    assert change["data"]["name"] == "Ana Lima" and change["data"]["emails"] == [{"value": "a@x.io"}]
    assert change["previous"] == {"name": "Ana", "custom_fields": {"k1": None}}
    # delete: no data, the last state in previous
    assert delete["data"] is None and delete["previous"]["name"] == "Ana Lima"
    assert delete["previous"]["is_deleted"] is False

    attempts = sandbox.admin("GET", "/pipedrive/webhook_deliveries")
    assert attempts["pending"] == 0 and [a["status"] for a in attempts["attempts"]] == [200, 200, 200]
    shown = requests.get(f"{sandbox.url}/v1/webhooks", headers=API, timeout=10).json()["data"][0]
    assert shown["last_http_status"] == 200 and shown["last_delivery_time"]


def test_api_changes_say_so_and_deal_hooks_see_deals(pipedrive, serve):
    sandbox = pipedrive(**FAST)
    receiver = Receiver(serve)
    add_webhook(sandbox, receiver.url, action="change", obj="person")
    add_webhook(sandbox, receiver.url, action="create", obj="deal")
    person_id = sandbox.admin("POST", "/records/persons", {"name": "Bo"})["data"][0]["id"]  # create: no hook
    answer = requests.patch(f"{sandbox.url}/api/v2/persons/{person_id}", json={"name": "Bob"}, headers=API,
                            timeout=10)
    assert answer.status_code == 200
    sandbox.admin("POST", "/records/deals", {"title": "D", "person_id": person_id, "stage_id": 1})
    drain(sandbox)
    people, deals = receiver.bodies(entity="person"), receiver.bodies(entity="deal")
    assert [(b["meta"]["action"], b["meta"]["change_source"], b["previous"]) for b in people] == [
        ("change", "api", {"name": "Bo"})]
    assert [(b["meta"]["action"], b["data"]["title"]) for b in deals] == [("create", "D")]


def test_merge_sends_the_losers_delete_and_the_winners_change(pipedrive, serve):
    sandbox = pipedrive(**FAST)
    receiver = Receiver(serve)
    sandbox.admin("POST", "/records/persons", [
        {"id": 1001, "name": "Loser", "emails": [{"value": "l@x.io", "primary": True}]},
        {"id": 1002, "name": "Winner", "emails": [{"value": "w@x.io", "primary": True}]}])
    sandbox.admin("POST", "/records/deals", {"id": 9001, "title": "D", "person_id": 1001})
    add_webhook(sandbox, receiver.url)
    winner = sandbox.admin("POST", "/records/persons/merge", {"loser_id": 1001, "winner_id": 1002})["data"]
    drain(sandbox)

    assert [e["value"] for e in winner["emails"]] == ["w@x.io", "l@x.io"]
    (loser_delete,) = receiver.bodies(entity="person", action="delete")
    (winner_change,) = receiver.bodies(entity="person", action="change")
    (deal_change,) = receiver.bodies(entity="deal")
    assert loser_delete["meta"]["entity_id"] == "1001" and loser_delete["meta"]["merged_to_id"] == "1002"
    assert winner_change["meta"]["entity_id"] == "1002" and winner_change["meta"]["merged_from_id"] == "1001"
    assert winner_change["previous"] == {"emails": [{"value": "w@x.io", "primary": True}]}
    assert deal_change["previous"] == {"person_id": 1001} and deal_change["data"]["person_id"] == 1002
    assert "merged_to_id" not in deal_change["meta"] and "merged_from_id" not in deal_change["meta"]
    bad = requests.post(f"{sandbox.url}/__admin/records/persons/merge", json={"loser_id": 1002, "winner_id": 1002},
                        timeout=10)
    assert bad.status_code == 400


def test_v1_bodies(pipedrive, serve):
    sandbox = pipedrive(**FAST)
    receiver = Receiver(serve)
    hook = add_webhook(sandbox, receiver.url, action="change", obj="deal", version="1.0")
    sandbox.admin("POST", "/records/deals", {"id": 9, "title": "D", "stage_id": 1})  # added: not subscribed
    sandbox.admin("POST", "/records/deals", {"id": 9, "stage_id": 2})
    drain(sandbox)
    (call,) = receiver.calls
    body = call["body"]
    assert (body["v"], body["event"], body["retry"]) == (1, "updated.deal", 0)
    assert body["meta"]["action"] == "updated" and body["meta"]["object"] == "deal" and body["meta"]["id"] == 9
    assert body["meta"]["webhook_id"] == hook["id"] and isinstance(body["meta"]["timestamp"], int)
    assert body["current"]["stage_id"] == 2 and body["previous"]["stage_id"] == 1 and body["previous"]["title"] == "D"


def test_retries_after_failures_then_gives_up(pipedrive, serve):
    sandbox = pipedrive(**FAST)
    flaky = Receiver(serve, statuses=[500, 503])  # third attempt succeeds
    dead = Receiver(serve, statuses=[500] * 10)
    add_webhook(sandbox, flaky.url, obj="person")
    add_webhook(sandbox, dead.url, obj="person")
    started = time.monotonic()
    sandbox.admin("POST", "/records/persons", {"id": 5, "name": "X"})
    drain(sandbox)
    assert [c["body"]["meta"]["attempt"] for c in flaky.calls] == [1, 2, 3]
    assert [c["body"]["meta"]["attempt"] for c in dead.calls] == [1, 2, 3, 4]  # 3 retries, then dropped
    assert len({c["body"]["meta"]["id"] for c in flaky.calls + dead.calls}) == 1  # one event, retried
    assert time.monotonic() - started >= 0.15  # three 0.05 s delays before the 4th attempt
    statuses = [(a["url"] == dead.url, a["status"]) for a in
                sandbox.admin("GET", "/pipedrive/webhook_deliveries")["attempts"]]
    assert sorted(statuses) == sorted([(False, 500), (False, 503), (False, 200)] + [(True, 500)] * 4)


def test_timeouts_are_retried_and_non_loopback_urls_are_refused(pipedrive, serve):
    sandbox = pipedrive(webhook_retry_delays=(0.05,), webhook_timeout_s=0.2)
    listener = socket.socket()  # accepts connections, never answers
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    try:
        add_webhook(sandbox, f"http://127.0.0.1:{listener.getsockname()[1]}/slow", obj="person")
        add_webhook(sandbox, "https://hooks.example.com/x", obj="person")
        sandbox.admin("POST", "/records/persons", {"id": 6, "name": "Y"})
        drain(sandbox)
    finally:
        listener.close()
    attempts = sandbox.admin("GET", "/pipedrive/webhook_deliveries")["attempts"]
    slow = [a for a in attempts if "/slow" in a["url"]]
    remote = [a for a in attempts if "example.com" in a["url"]]
    assert [(a["attempt"], a["status"]) for a in slow] == [(1, None), (2, None)] and slow[0]["error"]
    assert len(remote) == 1 and remote[0]["error"].startswith("refused")


def test_delivery_reaches_the_projects_receiver_and_is_stored(pipedrive, tmp_path):
    """The sandbox → the FastAPI receiver (served by uvicorn on loopback) → the event store."""
    import uvicorn

    from pipedrive_brevo import webhook_store
    from pipedrive_brevo.storage import DataLocation
    from pipedrive_brevo.webhooks.payloads import parse_pipedrive
    from pipedrive_brevo.webhooks.receivers import CachedSecrets, Secret, create_pipedrive_app

    store = DataLocation(str(tmp_path))
    app = create_pipedrive_app(store=store, secrets=CachedSecrets(lambda _: Secret("hook-user", "hook-pass")),
                               trigger=lambda dag_id: None)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        sandbox = pipedrive(**FAST)
        add_webhook(sandbox, f"http://127.0.0.1:{port}/webhooks", obj="deal")
        add_webhook(sandbox, f"http://127.0.0.1:{port}/webhooks", obj="deal", password="wrong")
        sandbox.admin("POST", "/records/deals", {"id": 42, "title": "Big", "stage_id": 1})
        sandbox.admin("POST", "/records/deals", {"id": 42, "stage_id": 3})
        drain(sandbox)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    events = [parse_pipedrive(e.body) for e in webhook_store.pending_events(store, "pipedrive")]
    assert [(e.action, e.entity_id, e.previous) for e in events] == [("create", 42, None),
                                                                     ("change", 42, {"stage_id": 1})]
    statuses = sorted(a["status"] for a in sandbox.admin("GET", "/pipedrive/webhook_deliveries")["attempts"])
    assert statuses.count(200) == 2 and statuses.count(401) == 8  # the wrong password: 4 attempts per event
