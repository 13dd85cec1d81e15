"""Run notifications reach the receiver, only for the events asked for, and never break a run."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pipedrive_brevo import notifications
from pipedrive_brevo.config import NotifyOptions


class Receiver:
    """A loopback HTTP server that keeps every JSON body POSTed to it."""

    def __init__(self) -> None:
        received: list[dict] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.received = received
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook?token=s3cret"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.stop()


def test_only_the_listed_events_are_sent(receiver):
    options = NotifyOptions(receiver.url, ("sync_completed",))
    body = notifications.payload("sync_completed", dag_id="d", run_id="r1", details={"load": {"created": 3}})
    assert notifications.send(options, "sync_completed", body) is True
    assert notifications.send(options, "batch_completed", body) is False
    assert notifications.send(None, "sync_completed", body) is False
    (got,) = receiver.received
    assert got["event"] == "sync_completed" and got["run_id"] == "r1" and got["load"] == {"created": 3}


def test_an_unreachable_receiver_is_a_warning_without_the_url(receiver, caplog):
    url = receiver.url
    receiver.stop()
    options = NotifyOptions(url, ("sync_failed",))
    body = notifications.payload("sync_failed", dag_id="d", run_id="r", details={})
    assert notifications.send(options, "sync_failed", body) is False
    assert "127.0.0.1" in caplog.text and "s3cret" not in caplog.text
    receiver.server = type("Stopped", (), {"shutdown": lambda self: None, "server_close": lambda self: None})()


def test_the_failure_callback_names_the_task_and_error_type_only(receiver):
    class Run:
        dag_id, run_id = "pipedrive_to_brevo", "manual__1"

    class TI:
        task_id = "load"

    notifier = notifications.SyncNotifier("sync_failed", NotifyOptions(receiver.url, ("sync_failed",)))
    notifier.notify({"dag_run": Run(), "ti": TI(), "exception": RuntimeError("api-key xkeysib-123 refused")})
    (got,) = receiver.received
    assert got == {**got, "event": "sync_failed", "task_id": "load", "error": "RuntimeError", "state": "failed"}
    assert "xkeysib" not in json.dumps(got)


def test_an_unknown_event_is_a_programming_error():
    with pytest.raises(ValueError, match="batch_done"):
        notifications.payload("batch_done", dag_id="d", run_id="r", details={})
