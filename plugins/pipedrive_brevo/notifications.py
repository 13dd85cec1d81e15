"""Run notifications: a JSON POST to ``options.notify.webhook_url`` (the seed's customer-sync skill).

Events: ``sync_completed`` (the summary task, with the run's counts), ``sync_failed`` (the DAG's
failure callback, :class:`SyncNotifier`, with the failed task and the error's type) and
``batch_completed`` (the load, after each batch Brevo accepted). Only the events listed in
``options.notify.events`` are sent.

A notification is a courtesy: a receiver that is down or slow never fails or stalls the sync
(one try, a short timeout, a warning). The URL may carry a secret (a token in its query), so it
is never logged; the warning names the host only.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from airflow.sdk import BaseNotifier

from pipedrive_brevo.config import NotifyOptions

log = logging.getLogger(__name__)

EVENTS = ("sync_completed", "sync_failed", "batch_completed")
TIMEOUT_S = 10.0


def payload(event: str, *, dag_id: str, run_id: str, details: dict[str, Any]) -> dict[str, Any]:
    """The JSON body of a notification."""
    if event not in EVENTS:
        raise ValueError(f"unknown notification event {event!r}; valid: {', '.join(EVENTS)}")
    return {"event": event, "dag_id": dag_id, "run_id": run_id,
            "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), **details}


def send(options: NotifyOptions | None, event: str, body: dict[str, Any]) -> bool:
    """POST ``body`` when ``options`` ask for ``event``; True when the receiver answered 2xx."""
    if options is None or event not in options.events:
        return False
    import requests

    try:
        response = requests.post(options.webhook_url, json=body, timeout=TIMEOUT_S)
    except requests.RequestException as exc:
        log.warning("notification %s to %s not delivered: %s", event, _host(options.webhook_url), type(exc).__name__)
        return False
    if response.status_code >= 300:
        log.warning("notification %s to %s answered %s", event, _host(options.webhook_url), response.status_code)
        return False
    return True


def run_counts(run_id: str, data_location: str | None = None) -> dict[str, Any]:
    """The headline figures of ``runs/<run_id>/summary.json`` (empty when it is not written)."""
    from pipedrive_brevo.storage import DataLocation, safe

    summary = DataLocation(data_location).read_json(f"runs/{safe(run_id)}/summary.json", default={}) or {}
    return {key: summary[key] for key in ("extracted", "contacts_desired", "plan", "load", "rejects")
            if key in summary}


def _host(url: str) -> str:
    return urlsplit(url).hostname or "(no host)"


class SyncNotifier(BaseNotifier):
    """A DAG callback that sends one notification event (``sync_failed`` on failure).

    :param event: one of :data:`EVENTS`.
    :param options: ``options.notify`` of the mapping (None: send nothing).
    """

    def __init__(self, event: str, options: NotifyOptions | None):
        super().__init__()
        self.event = event
        self.options = options

    def notify(self, context: Any) -> None:
        dag_run = context.get("dag_run")
        ti = context.get("task_instance") or context.get("ti")
        error = context.get("exception")
        details: dict[str, Any] = {"state": "failed" if self.event == "sync_failed" else "success"}
        if ti is not None:
            details["task_id"] = getattr(ti, "task_id", None)
        if error is not None:
            details["error"] = type(error).__name__  # the message may quote a response; keep it out
        if self.event == "sync_completed" and dag_run is not None:
            details["summary"] = run_counts(getattr(dag_run, "run_id", ""))
        send(self.options, self.event, payload(self.event, dag_id=getattr(dag_run, "dag_id", "pipedrive_to_brevo"),
                                               run_id=getattr(dag_run, "run_id", ""), details=details))
