"""
### pipedrive_webhooks_setup: point Pipedrive's webhooks at the receiver (run by hand)

Makes the Pipedrive account's webhooks match the mapping's `webhooks` section: one v2 webhook
(`version: "2.0"`) per wanted `event_action`/`event_object` pair, sent to `POST /pipedrive/webhooks`
of the Airflow API server with the login and password of the connection `pipedrive_webhook` as
HTTP basic auth. Matching webhooks are left as they are, ours that the mapping no longer wants are
deleted (ours: the same subscription URL; other webhooks are never touched), missing ones created.
If the result would pass Pipedrive's limit of 40 webhooks per user, the task fails before
changing anything. Run it after changing the mapping's `webhooks` section, the receiver's URL or
(with `replace`) its password.

| param | default | meaning |
| --- | --- | --- |
| `receiver_url` | from the host of `pipedrive_webhook` | the public https URL of the receiver |
| `replace` | false | delete and re-create our webhooks (a new password: Pipedrive never shows the old one) |
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Param

from pipedrive_brevo.config import load_mapping
from pipedrive_brevo.operators.webhook_events import PipedriveWebhooksSetupOperator

mapping = load_mapping()

with DAG(
    dag_id="pipedrive_webhooks_setup",
    description="Create, keep or delete Pipedrive webhooks to match the mapping's webhooks section",
    doc_md=__doc__,
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    render_template_as_native_obj=True,
    # A retry re-reads the webhooks first, so a create that went through is not made twice.
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30)},
    tags=["pipedrive", "webhooks", "setup"],
    params={
        "receiver_url": Param(None, type=["null", "string"],
                              description="Public URL of POST /pipedrive/webhooks (default: connection pipedrive_webhook)"),
        "replace": Param(False, type="boolean", description="Delete and re-create our webhooks"),
    },
) as dag:
    PipedriveWebhooksSetupOperator(task_id="register_webhooks", pool="pipedrive_api",
                                   pipedrive_conn_id=mapping.pipedrive.conn_id,
                                   receiver_url="{{ params.receiver_url }}", replace="{{ params.replace }}")
