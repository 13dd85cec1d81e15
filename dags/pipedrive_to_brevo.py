"""
### pipedrive_to_brevo: keep Brevo in step with Pipedrive

Hourly. Each run extracts what changed in Pipedrive since the last successful window (the
*watermark*, kept per entity under the data location, so a skipped, failed or paused run loses
nothing; the first run is a full one) and merges it into the entity snapshots. `prepare_brevo`
checks the mapped Brevo lists exist and creates missing attributes; `plan` turns the snapshots into
the desired contacts and events and diffs them against the sync state (what Brevo was last sent),
writing `runs/<run_id>/plan.parquet` and `rejects/<run_id>.parquet`; `load` sends the difference in
batches, committing the sync state after each batch Brevo accepted (a retried load sends nothing
twice); `summary` writes `runs/<run_id>/summary.json`. A dry run stops after the plan. With
`options.notify.webhook_url` in the mapping, `sync_completed`, `sync_failed` and `batch_completed`
are POSTed there.

| param | default | meaning |
| --- | --- | --- |
| `full_refresh` | false | ignore the watermarks and extract everything |
| `since`, `until` | none | ISO 8601: extract only records updated in [since, until) (a backfill window; watermarks stay) |
| `entities` | all enabled in the mapping | subset of persons, organizations, deals, activities, leads |
| `dry_run` | false | stop after the plan: write it and the summary, send nothing to Brevo |
| `reconcile_deletes` | false (the first run of each UTC day does it) | scan all ids to find records deleted in Pipedrive |

`since`/`until` must be ISO 8601 (`2026-11-01`, `2026-11-01T08:00:00Z`) and `entities` names from the
list above: anything else is refused when the run is triggered, naming the value. A run made by
`airflow backfill create --from-date ... --to-date ...` re-reads its own data interval, as if given
`since`/`until` (params still win): it re-sends only what changed in it and leaves the watermarks.

Connections: `pipedrive_default` (or the mapping's `connectors.pipedrive.conn_id`) and
`brevo_default`. Mapping: `include/mappings/pipedrive_brevo.yaml` or `$PIPEDRIVE_BREVO_MAPPING`.
Pools `pipedrive_api` and `brevo_api` make parallel tasks and DAGs share one rate budget
(`airflow pools import include/pools.json`).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Param, task

from pipedrive_brevo.config import load_mapping
from pipedrive_brevo.notifications import SyncNotifier
from pipedrive_brevo.operators.extract import (
    PipedriveExtractOperator,
    PipedriveReferenceOperator,
    SnapshotMergeOperator,
)
from pipedrive_brevo.operators.summary import RunSummaryOperator
from pipedrive_brevo.operators.sync import BrevoLoadOperator, BrevoPrepareOperator, SyncPlanOperator
from pipedrive_brevo.run_params import ENTITIES

mapping = load_mapping()  # a mistake in the file is an import error naming the file, key and line
ENABLED = list(mapping.pipedrive.sync.entities())
PIPEDRIVE_CONN_ID = mapping.pipedrive.conn_id
# A date, or a date and time with an optional offset: refused when the run is triggered, naming the value.
ISO_8601 = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$"

with DAG(
    dag_id="pipedrive_to_brevo",
    description="Sync Pipedrive persons, deals, organizations, activities and leads into Brevo",
    doc_md=__doc__,
    schedule="@hourly",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,  # the watermark, not catch-up runs, makes sure no change is lost
    max_active_runs=1,
    render_template_as_native_obj=True,
    default_args={"retries": 3, "retry_delay": timedelta(seconds=30), "retry_exponential_backoff": True,
                  "max_retry_delay": timedelta(minutes=10)},
    tags=["pipedrive", "brevo", "sync"],
    on_failure_callback=SyncNotifier("sync_failed", mapping.options.notify) if mapping.options.notify else None,
    params={
        "full_refresh": Param(False, type="boolean", description="Ignore the watermarks and extract everything"),
        "since": Param(None, type=["null", "string"], pattern=ISO_8601,
                       description="Backfill window start, ISO 8601 (inclusive), e.g. 2026-11-01 or 2026-11-01T08:00:00Z"),
        "until": Param(None, type=["null", "string"], pattern=ISO_8601,
                       description="Backfill window end, ISO 8601 (exclusive), e.g. 2026-11-08"),
        "entities": Param(ENABLED, type="array", items={"type": "string", "enum": list(ENTITIES)},
                          uniqueItems=True, description="Entities to extract (default: all enabled in the mapping)"),
        "dry_run": Param(False, type="boolean", description="Write the plan and summary; send nothing to Brevo"),
        "reconcile_deletes": Param(False, type="boolean", description="Scan all ids to find deleted records"),
    },
) as dag:

    @task
    def select_entities(params: dict | None = None) -> list[str]:
        """The entities this run extracts (params.entities, checked against the mapping)."""
        from pipedrive_brevo.run_params import select_entities as select

        return select(params["entities"], ENABLED)

    reference = PipedriveReferenceOperator(task_id="extract_reference", pool="pipedrive_api",
                                           pipedrive_conn_id=PIPEDRIVE_CONN_ID)
    extract = PipedriveExtractOperator.partial(
        task_id="extract", pool="pipedrive_api", pipedrive_conn_id=PIPEDRIVE_CONN_ID,
        full_refresh="{{ params.full_refresh }}", since="{{ params.since }}", until="{{ params.until }}",
        reconcile_deletes="{{ params.reconcile_deletes }}",
        map_index_template="{{ task.entity }}",
    ).expand(entity=select_entities())
    merge = SnapshotMergeOperator.partial(task_id="merge", map_index_template="{{ task.extraction.entity }}",
                                          ).expand(extraction=extract.output)
    prepare = BrevoPrepareOperator(task_id="prepare_brevo", pool="brevo_api", dry_run="{{ params.dry_run }}",
                                   full_refresh="{{ params.full_refresh }}")
    plan = SyncPlanOperator(task_id="plan", prepared=prepare.output, dry_run="{{ params.dry_run }}")
    load = BrevoLoadOperator(task_id="load", pool="brevo_api", dry_run="{{ params.dry_run }}")
    summary = RunSummaryOperator(task_id="summary", on_success_callback=(
        SyncNotifier("sync_completed", mapping.options.notify) if mapping.options.notify else None))

    reference >> prepare
    [merge, prepare] >> plan >> load >> summary
