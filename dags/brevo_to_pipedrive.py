"""
### brevo_to_pipedrive: bring Brevo's marketing facts back to the Pipedrive persons

Hourly, and triggered by the Brevo webhook receiver (`POST /brevo/webhooks`). `read_brevo` reads
the contacts modified in Brevo since the watermark (with a 10-minute overlap, de-duplicated by
id) and the stored Brevo webhooks (those made by our own API key, `options.reverse.api_key_name`,
are skipped); `write_pipedrive` decides each `reverse_mapping` field (skipping values the forward
sync sent and values Pipedrive already holds; `options.reverse.conflict` for fields mapped both
ways) and PATCHes only the persons whose mapped values differ, recording every write so
`pipedrive_to_brevo` does not send it back. Files: `runs/brevo_to_pipedrive.<run_id>/reverse_plan.parquet`,
`runs/brevo_to_pipedrive.<run_id>/summary.json`, `rejects/brevo_to_pipedrive.<run_id>.parquet`.

| param | default | meaning |
| --- | --- | --- |
| `dry_run` | false | write the plan and summary only; nothing is written to Pipedrive |
| `full_refresh` | false | ignore the watermark: read every Brevo contact |

Connections: `brevo_default` and `pipedrive_default` (or the mapping's `connectors.pipedrive.conn_id`).
Pools `brevo_api` (reads) and `pipedrive_api` (writes) share the rate budgets with the forward sync.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Param

from pipedrive_brevo.config import load_mapping
from pipedrive_brevo.operators.reverse import BrevoChangesOperator, PipedrivePersonWriteOperator

mapping = load_mapping()  # a mistake in the file is an import error naming the file, key and line

with DAG(
    dag_id="brevo_to_pipedrive",
    description="Bring Brevo unsubscribes, bounces and attribute edits back to the Pipedrive persons",
    doc_md=__doc__,
    schedule="@hourly",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,  # the watermark, not catch-up runs, makes sure no change is lost
    max_active_runs=1,
    render_template_as_native_obj=True,
    default_args={"retries": 3, "retry_delay": timedelta(seconds=30), "retry_exponential_backoff": True,
                  "max_retry_delay": timedelta(minutes=10)},
    tags=["pipedrive", "brevo", "sync", "reverse"],
    params={
        "dry_run": Param(False, type="boolean", description="Write the plan and summary; write nothing to Pipedrive"),
        "full_refresh": Param(False, type="boolean", description="Ignore the watermark and read every Brevo contact"),
    },
) as dag:
    read = BrevoChangesOperator(task_id="read_brevo", pool="brevo_api", full_refresh="{{ params.full_refresh }}")
    write = PipedrivePersonWriteOperator(task_id="write_pipedrive", pool="pipedrive_api", changes=read.output,
                                         dry_run="{{ params.dry_run }}", full_refresh="{{ params.full_refresh }}",
                                         pipedrive_conn_id=mapping.pipedrive.conn_id)
    read >> write
