"""
### pipedrive_pipeline_report: pipeline reporting for marketing attribution

Daily. Builds four tables from what the sync (`pipedrive_to_brevo`) already keeps under the data
location — the deal, person, organization and lead snapshots, the reference lists and the stage
history — and publishes them under `reports/<date>/` as CSV and/or Parquet
(`options.report.formats`), with PNG charts and an `index.html`:

| table | one row per |
| --- | --- |
| `deals_attribution` | deal: names, status, value (and in the base currency), weighted value, times, owner, attribution |
| `funnel` | pipeline, stage and month reached (plus `all`): deals reached, entered, in stage; values; conversions |
| `velocity` | pipeline and stage (plus the pipeline): median and p90 days in stage, cycle time to won and lost |
| `revenue_by_source` | lead source, channel, origin, owner and month created: won deals, won value, win rate |

The report of date D describes the pipeline **at the end of D (UTC)**: deals added later are left
out and a deal won later counts as open in the stage the stage history places it in. A run for the
interval [D, D+1) reports D (a manual trigger gets the last complete day), so `airflow backfill
create --dag-id pipedrive_pipeline_report --from-date 2026-11-01 --to-date 2026-11-07` makes one
report per day; the `report_date` param (`YYYY-MM-DD`) overrides it. Rerunning a date replaces
that date's files atomically.

Tasks: `fill_stage_history` reads Pipedrive's deal flow for deals older than the project within
`options.report.deal_flow_budget` tokens (skipped at 0, the default) → `build_report` (no API
call) → `write_exports` → `write_sql` (the same tables into `options.report.sql_conn_id`; skipped
when it is not set).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Param
from airflow.timetables.interval import CronDataIntervalTimetable

from pipedrive_brevo.config import load_mapping
from pipedrive_brevo.operators.report import (
    PipelineReportOperator,
    ReportExportOperator,
    ReportSqlOperator,
    StageHistoryFillOperator,
)

mapping = load_mapping()  # a mistake in the file is an import error naming the file, key and line
DATE = r"^\d{4}-\d{2}-\d{2}$"

with DAG(
    dag_id="pipedrive_pipeline_report",
    description="Daily pipeline report for marketing attribution: funnel, velocity, revenue by source",
    doc_md=__doc__,
    # Intervals [D, D+1): the run after day D ends reports D, and a backfill from D1 to D2 makes
    # the reports of D1..D2 (a trigger timetable would give runs no interval to report on).
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,  # backfill past dates on purpose: airflow backfill create
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=1)},
    tags=["pipedrive", "report"],
    params={
        "report_date": Param(None, type=["null", "string"], pattern=DATE,
                             description="Report on this date (YYYY-MM-DD) instead of the run's data interval"),
    },
) as dag:
    fill = StageHistoryFillOperator(task_id="fill_stage_history", pool="pipedrive_api",
                                    pipedrive_conn_id=mapping.pipedrive.conn_id)
    build = PipelineReportOperator(task_id="build_report", report_date="{{ params.report_date or '' }}",
                                   trigger_rule="none_failed")
    exports = ReportExportOperator(task_id="write_exports", built=build.output)
    sql = ReportSqlOperator(task_id="write_sql", built=build.output)

    fill >> build >> [exports, sql]
