"""Operators of ``pipedrive_webhook_events``: apply the stored events, then mark them applied.

The plan and load between them are the sync's own operators (:mod:`.sync`): one code path, so
the webhook run and the hourly sync can never disagree on what Brevo should hold. Thin, like the
other operators: the logic is in :mod:`pipedrive_brevo.webhook_apply` and
:mod:`pipedrive_brevo.webhook_store`; heavy imports happen inside ``execute``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowSkipException

SOURCE = "pipedrive"


class WebhookEventsApplyOperator(BaseOperator):
    """Take the pending Pipedrive events and apply them to the snapshots.

    With no pending event (or before the first sync, which reads everything anyway and after
    which the events are applied) the task is skipped, and so is the rest of the run: nothing is
    sent. The keys taken are kept in ``runs/<run_id>/webhooks/batch.json``: a retried task applies
    the same events, and :class:`WebhookEventsMarkAppliedOperator` marks exactly those.

    :param max_events: at most this many events a run (the rest wait for the next run).
    :param pipedrive_conn_id: the Airflow connection of the Pipedrive account (records to fetch).
    :param data_location: where runs keep their files; default ``PIPEDRIVE_BREVO_DATA``.
    """

    template_fields: Sequence[str] = ("max_events", "pipedrive_conn_id", "data_location")

    def __init__(self, *, max_events: int | str = 5000, pipedrive_conn_id: str = "pipedrive_default",
                 data_location: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_events = max_events
        self.pipedrive_conn_id = pipedrive_conn_id
        self.data_location = data_location

    def execute(self, context: Context) -> dict[str, Any]:
        from pipedrive_brevo import sync_lease, sync_state, webhook_store
        from pipedrive_brevo.config import load_mapping
        from pipedrive_brevo.hooks.pipedrive import PipedriveHook
        from pipedrive_brevo.run_summary import record_task
        from pipedrive_brevo.storage import DataLocation
        from pipedrive_brevo.webhook_apply import apply_events, take_batch

        store = DataLocation(self.data_location)
        run_id = context["run_id"]
        if not sync_state.has_synced(store):
            raise AirflowSkipException("pipedrive_to_brevo has not run yet: the events stay pending until it has")
        pending = webhook_store.pending_events(store, SOURCE, limit=int(self.max_events))
        keys = take_batch(store, run_id, pending)
        if not keys:
            raise AirflowSkipException("no pending Pipedrive webhook event")
        started = time.monotonic()
        hook = PipedriveHook(self.pipedrive_conn_id)
        by_key = {e.key: e for e in pending}
        events = [by_key[k] if k in by_key else _read(store, k) for k in keys]
        # Held only while the snapshots are rewritten (not until the plan, so a failure between
        # the two cannot block the hourly sync); a sync's plan-to-load holds it meanwhile.
        holder = sync_lease.holder_of(self.dag_id, run_id)
        sync_lease.wait_and_acquire(store, holder, log=self.log)
        try:
            result = apply_events(hook, store, events, run_id, entities=load_mapping().pipedrive.sync.entities())
        finally:
            sync_lease.release(store, holder)
        record_task(store, run_id, "apply_events", api="pipedrive", stats=hook.stats.snapshot(),
                    duration_s=time.monotonic() - started, extra={"summary": {"webhooks": result["counts"]}})
        self.log.info("Webhook events: %s; snapshot rows changed: %s", result["counts"], result["entities"])
        return {"events": len(keys), **result}


class WebhookEventsMarkAppliedOperator(BaseOperator):
    """Mark the run's events applied: only after the load succeeded, so a failed run re-reads them.

    :param data_location: where runs keep their files; default ``PIPEDRIVE_BREVO_DATA``.
    """

    template_fields: Sequence[str] = ("data_location",)

    def __init__(self, *, data_location: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_location = data_location

    def execute(self, context: Context) -> int:
        from pipedrive_brevo import sync_lease, webhook_store
        from pipedrive_brevo.storage import DataLocation
        from pipedrive_brevo.webhook_apply import batch_path, forget_carried_deals, keys_to_mark

        store = DataLocation(self.data_location)
        run_id = context["run_id"]
        keys, held_back = keys_to_mark(store, run_id, (store.read_json(batch_path(run_id)) or {}).get("keys", []))
        if held_back:
            self.log.warning("%d events stay pending: a concurrent sync merge wrote over their records in the "
                             "snapshot; the next run applies them again", len(held_back))
        webhook_store.mark_applied(store, SOURCE, keys)
        if not held_back:
            forget_carried_deals(store)
        sync_lease.release(store, sync_lease.holder_of(self.dag_id, run_id))  # the load released it already
        self.log.info("Marked %d Pipedrive webhook events applied", len(keys))
        return len(keys)


def _read(store: Any, key: str) -> Any:
    """A taken event that is no longer pending (a retry after a partial mark): read it back."""
    import json

    from pipedrive_brevo.webhook_store import StoredEvent, received_at_of

    return StoredEvent(SOURCE, key, received_at_of(key), json.loads(store.read_bytes(key)))


class PipedriveWebhooksSetupOperator(BaseOperator):
    """Make Pipedrive's webhooks match the mapping's ``webhooks`` section (``pipedrive_webhooks_setup``).

    :param receiver_url: the public URL of ``POST /pipedrive/webhooks``; empty: built from the host
        (and schema, port) of the connection ``webhook_conn_id``. https, or http on loopback only.
    :param replace: delete and re-create our webhooks (after the receiver's password changed:
        Pipedrive never shows the stored one).
    :param webhook_conn_id: the connection whose login/password the receiver checks (basic auth).
    :param pipedrive_conn_id: the Airflow connection of the Pipedrive account.
    """

    template_fields: Sequence[str] = ("receiver_url", "replace", "webhook_conn_id", "pipedrive_conn_id")

    def __init__(self, *, receiver_url: str | None = None, replace: bool | str = False,
                 webhook_conn_id: str = "pipedrive_webhook", pipedrive_conn_id: str = "pipedrive_default",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.receiver_url = receiver_url
        self.replace = replace
        self.webhook_conn_id = webhook_conn_id
        self.pipedrive_conn_id = pipedrive_conn_id

    def execute(self, context: Context) -> dict[str, int]:
        from airflow.sdk import BaseHook
        from airflow.sdk.exceptions import AirflowFailException

        from pipedrive_brevo.config import load_mapping
        from pipedrive_brevo.hooks.connection import ConnectionConfigError
        from pipedrive_brevo.hooks.pipedrive import PipedriveHook
        from pipedrive_brevo.operators.extract import _flag
        from pipedrive_brevo.redaction import register_secret
        from pipedrive_brevo.webhook_registration import WebhookLimitError, receiver_url, register_webhooks

        conn = BaseHook.get_connection(self.webhook_conn_id)
        register_secret(conn.password)
        try:
            url = self.receiver_url or receiver_url(conn.host, conn.port, conn.schema, self.webhook_conn_id)
            counts = register_webhooks(PipedriveHook(self.pipedrive_conn_id), load_mapping().webhooks, url,
                                       http_auth_user=conn.login or None, http_auth_password=conn.password or None,
                                       replace=_flag(self.replace))
        except (WebhookLimitError, ConnectionConfigError, ValueError) as exc:  # retrying cannot help
            raise AirflowFailException(str(exc)) from exc
        self.log.info("Pipedrive webhooks for %s: %s", url, counts)
        return counts
