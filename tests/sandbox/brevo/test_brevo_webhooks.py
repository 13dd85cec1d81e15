"""The Brevo sandbox's marketing webhooks: the API as the 2026 spec says, deliveries as Brevo sends them."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from sandbox.brevo import BrevoConfig
from tests.support.openapi import BREVO, OpenAPISpec

OURS, MARKETING = "xkeysib-sandbox-key", "xkeysib-marketing"
NAMES = {OURS: "pipedrive-brevo-sync", MARKETING: "marketing-team"}


class Receiver:
    """A loopback endpoint that records each request and answers the statuses it is told, in turn."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/brevo/webhooks"

    def bodies(self) -> list[dict[str, Any]]:
        return [r["body"] for r in self.requests]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


@pytest.fixture
def sandbox(start_brevo):
    return start_brevo(BrevoConfig(import_delay_s=0.05, limits_enabled=False, api_keys=[OURS, MARKETING],
                                   api_key_names=dict(NAMES), webhook_retry_delays_s=(0.05, 0.05, 0.05, 0.05)))


def subscribe(sandbox, url: str, events: list[str], **extra: Any) -> int:
    response = sandbox.api("POST", "/webhooks", json={"url": url, "type": "marketing", "events": events,
                                                      "auth": {"type": "bearer", "token": "s3cret"}, **extra})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def wait(sandbox) -> None:
    assert sandbox.admin("POST", "/brevo/webhooks/wait", json={"timeout": 10}).json() == {"idle": True}


def test_create_list_get_update_delete_match_the_spec(sandbox, receiver):
    spec = OpenAPISpec.load(BREVO)
    created = sandbox.api("POST", "/webhooks", json={"url": receiver.url, "type": "marketing",
                                                     "events": ["unsubscribed", "contactUpdated"],
                                                     "description": "back-sync", "auth": {"type": "bearer",
                                                                                          "token": "t"},
                                                     "headers": [{"key": "x-env", "value": "test"}]})
    spec.validate_response("POST", "/webhooks", 201, created.json())
    webhook_id = created.json()["id"]
    listed = sandbox.api("GET", "/webhooks", params={"type": "marketing"})
    spec.validate_response("GET", "/webhooks", 200, listed.json())
    assert [w["id"] for w in listed.json()["webhooks"]] == [webhook_id]
    assert sandbox.api("GET", "/webhooks").json() == {"webhooks": []}  # the default type is transactional
    one = sandbox.api("GET", f"/webhooks/{webhook_id}")
    spec.validate_response("GET", "/webhooks/{webhookId}", 200, one.json())
    assert one.json()["events"] == ["unsubscribed", "contactUpdated"] and one.json()["auth"]["type"] == "bearer"
    assert sandbox.api("PUT", f"/webhooks/{webhook_id}", json={"events": ["listAddition"]}).status_code == 204
    assert sandbox.api("GET", f"/webhooks/{webhook_id}").json()["events"] == ["listAddition"]
    assert sandbox.api("DELETE", f"/webhooks/{webhook_id}").status_code == 204
    missing = sandbox.api("GET", f"/webhooks/{webhook_id}")
    assert missing.status_code == 404
    spec.validate_response("GET", "/webhooks/{webhookId}", 404, missing.json())
    bad = sandbox.api("POST", "/webhooks", json={"url": receiver.url, "type": "marketing", "events": ["sent"]})
    assert bad.status_code == 400 and "sent" in bad.json()["message"]


def test_changes_are_delivered_with_the_key_name_that_made_them(sandbox, receiver):
    sandbox.seed_list(7)
    subscribe(sandbox, receiver.url, ["contactUpdated", "listAddition", "unsubscribed", "contactDeleted",
                                      "hardBounce"])
    assert sandbox.api("POST", "/contacts", json={"email": "ada@example.com"}).status_code == 201
    sandbox.api("PUT", "/contacts/ada@example.com", key=MARKETING, json={"attributes": {"FIRSTNAME": "Ada"}})
    sandbox.api("PUT", "/contacts/ada@example.com", key=OURS, json={"listIds": [7]})
    sandbox.admin("POST", "/brevo/contacts", json={"email": "ada@example.com", "attributes": {"LASTNAME": "L"}})
    sandbox.admin("POST", "/brevo/campaign_events", json={"event": "hardBounce", "email": "ada@example.com"})
    sandbox.admin("POST", "/brevo/campaign_events", json={"event": "unsubscribed", "email": "ada@example.com"})
    sandbox.api("DELETE", "/contacts/ada@example.com")
    wait(sandbox)

    bodies = receiver.bodies()
    assert [b["event"] for b in bodies] == ["contact_updated", "list_addition", "contact_updated", "hard_bounce",
                                           "unsubscribed", "contact_deleted"]
    updated, added, by_ui = bodies[0], bodies[1], bodies[2]
    assert updated["content"] == [{"FIRSTNAME": "Ada"}] and updated["api_key_name"] == "marketing-team"
    assert added["list_id"] == [7] and added["api_key_name"] == "pipedrive-brevo-sync"
    assert by_ui["api_key_name"] == "" and by_ui["content"] == [{"LASTNAME": "L"}]
    assert bodies[5]["list_id"] == [7] and "api_key_name" not in bodies[5]
    assert {"ts_event", "date_event", "camp_id"} <= set(bodies[4])
    assert all(b["email"] == "ada@example.com" and isinstance(b["ts"], int) for b in bodies)
    assert all(r["headers"]["Authorization"] == "Bearer s3cret" for r in receiver.requests)


def test_an_import_is_attributed_to_the_key_that_sent_it(sandbox, receiver):
    sandbox.seed_list(3)
    subscribe(sandbox, receiver.url, ["contactUpdated"])
    sandbox.api("POST", "/contacts", json={"email": "bo@example.com"})
    started = sandbox.api("POST", "/contacts/import", key=MARKETING, json={
        "jsonBody": [{"email": "bo@example.com", "attributes": {"FIRSTNAME": "Bo"}}], "listIds": [3],
        "updateExistingContacts": True})
    assert started.status_code == 202, started.text
    assert sandbox.wait_process(started.json()["processId"])["status"] == "completed"
    wait(sandbox)
    assert [(b["event"], b["api_key_name"]) for b in receiver.bodies()] == [("contact_updated", "marketing-team")]


def test_429_and_silence_are_retried_other_errors_discard_the_event(sandbox, receiver):
    subscribe(sandbox, receiver.url, ["contactUpdated"])
    sandbox.api("POST", "/contacts", json={"email": "cy@example.com"})
    receiver.statuses = [429, 200, 400]
    sandbox.api("PUT", "/contacts/cy@example.com", json={"attributes": {"FIRSTNAME": "Cy"}})
    wait(sandbox)
    sandbox.api("PUT", "/contacts/cy@example.com", json={"attributes": {"FIRSTNAME": "Cyd"}})
    wait(sandbox)
    deliveries = sandbox.admin("GET", "/brevo/webhooks/deliveries").json()["deliveries"]
    assert [(d["attempts"], d["outcome"]) for d in deliveries] == [([429, 200], "delivered"), ([400], "discarded")]
    subscribe(sandbox, "http://127.0.0.1:9/nowhere", ["contactUpdated"])  # nobody listens there
    sandbox.api("PUT", "/contacts/cy@example.com", json={"attributes": {"FIRSTNAME": "Cyril"}})
    wait(sandbox)
    last = sandbox.admin("GET", "/brevo/webhooks/deliveries").json()["deliveries"][-1]
    assert last["attempts"] == [0, 0, 0, 0, 0] and last["outcome"] == "gave_up"  # 1 try + 4 retries


def test_modified_at_moves_on_every_change_and_modified_since_filters_on_it(sandbox):
    sandbox.api("POST", "/contacts", json={"email": "di@example.com"})
    sandbox.api("POST", "/contacts", json={"email": "ed@example.com"})
    first = sandbox.api("GET", "/contacts/di@example.com").json()["modifiedAt"]
    mark = sandbox.api("GET", "/contacts/ed@example.com").json()["modifiedAt"]  # the later of the two
    time.sleep(0.01)
    sandbox.api("PUT", "/contacts/di@example.com", json={"emailBlacklisted": True})
    moved = sandbox.api("GET", "/contacts/di@example.com").json()["modifiedAt"]
    assert moved > mark >= first
    found = sandbox.api("GET", "/contacts", params={"modifiedSince": mark}).json()["contacts"]
    assert [c["email"] for c in found] == ["di@example.com"]
