"""
### pipedrive_webhook_events: Pipedrive changes into Brevo in seconds

Triggered (no schedule): the receiver `POST /pipedrive/webhooks` stores each Pipedrive webhook
under `webhooks/pipedrive/` and triggers this DAG, at most one queued run at a time. A run:

1. `apply_events` takes the pending events (deduplicated by event id: Pipedrive retries after 3,
   30 and 150 s), orders them per record by update time, drops those the snapshot already holds,
   fetches the full record where a payload is partial (v1 bodies, merge winners) and merges them into
   the snapshots exactly like the sync's merge (`runs/<run_id>/previous/deals.parquet` included);
   skipped, with the whole run, when nothing is pending or before the first sync;
2. `prepare_brevo`, `plan` and `load` are the sync's own tasks: the plan diffs against the shared
   sync state, so only the affected contacts are written, and each event is sent once whichever
   DAG sees the change first;
3. `mark_applied` marks the events applied only after the load succeeded: a failed run leaves
   them pending and the next run applies them (nothing lost; nothing sent twice);
4. `summary` writes `runs/<run_id>/summary.json`.

A person created or changed is upserted; a deal changing stage moves the contact between the mapped
lists and sends `deal_stage_changed` (and `deal_won` / `deal_lost`); an added activity sends
`activity_logged` (the mapping's `webhooks` section renames it); a merge deletes the loser and
refreshes the winner; a delete follows `options.delete_behavior`.

This DAG and `pipedrive_to_brevo` never plan or load at the same time: each run holds the lease
`state/brevo/lease.json` from its `plan` until its `load` is over; the other DAG's `plan` waits.
Pipedrive's webhooks are set up by the manual DAG `pipedrive_webhooks_setup`.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG

from pipedrive_brevo.config import load_mapping
from pipedrive_brevo.operators.summary import RunSummaryOperator
from pipedrive_brevo.operators.sync import BrevoLoadOperator, BrevoPrepareOperator, SyncPlanOperator
from pipedrive_brevo.operators.webhook_events import (
    WebhookEventsApplyOperator,
    WebhookEventsMarkAppliedOperator,
)

mapping = load_mapping()  # a mistake in the file is an import error naming the file, key and line

with DAG(
    dag_id="pipedrive_webhook_events",
    description="Apply Pipedrive webhook events to Brevo in near real time",
    doc_md=__doc__,
    schedule=None,  # triggered by the webhook receiver
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    render_template_as_native_obj=True,
    default_args={"retries": 3, "retry_delay": timedelta(seconds=15), "retry_exponential_backoff": True,
                  "max_retry_delay": timedelta(minutes=5)},
    tags=["pipedrive", "brevo", "webhooks"],
) as dag:
    apply_events = WebhookEventsApplyOperator(task_id="apply_events", pool="pipedrive_api",
                                              pipedrive_conn_id=mapping.pipedrive.conn_id)
    prepare = BrevoPrepareOperator(task_id="prepare_brevo", pool="brevo_api")
    plan = SyncPlanOperator(task_id="plan", prepared=prepare.output)
    load = BrevoLoadOperator(task_id="load", pool="brevo_api")
    mark_applied = WebhookEventsMarkAppliedOperator(task_id="mark_applied")
    summary = RunSummaryOperator(task_id="summary")

    apply_events >> prepare >> plan >> load >> mark_applied >> summary
