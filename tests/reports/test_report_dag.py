"""pipedrive_pipeline_report: its shape, the date a run reports on, and one run after a sync on the sandboxes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from pipedrive_brevo.reporting.as_of import report_date_of_run
from sandbox.generator import generate_account
from tests.support.dag_runs import run_dag, seed_lists

DAGS = Path(__file__).resolve().parents[2] / "dags"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_a_daily_interval_reports_its_own_day():
    assert report_date_of_run(None, interval_start=utc("2026-11-01T00:00"),
                              interval_end=utc("2026-11-02T00:00")) == "2026-11-01"


def test_an_empty_interval_reports_its_day():
    at = utc("2026-11-24T09:30")
    assert report_date_of_run(None, interval_start=at, interval_end=at) == "2026-11-24"


def test_the_param_wins_and_must_be_a_date():
    assert report_date_of_run("2026-10-31", interval_start=None, interval_end=utc("2026-11-24T00:00")) == "2026-10-31"
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        report_date_of_run("31/10/2026", interval_start=None, interval_end=None)


def test_the_fill_is_skipped_without_a_budget_and_sql_without_a_connection(monkeypatch):
    from airflow.sdk.exceptions import AirflowSkipException

    from pipedrive_brevo.operators.report import ReportSqlOperator, StageHistoryFillOperator

    monkeypatch.setenv("PIPEDRIVE_BREVO_MAPPING", str(Path(__file__).parents[2] / "include/mappings/pipedrive_brevo.yaml"))
    with pytest.raises(AirflowSkipException, match="deal_flow_budget is 0"):
        StageHistoryFillOperator(task_id="fill").execute({"run_id": "r"})
    with pytest.raises(AirflowSkipException, match="sql_conn_id is not set"):
        ReportSqlOperator(task_id="sql", built={"report_date": "2026-11-01"}).execute({"run_id": "r"})


def test_dag_shape():
    from airflow.models import DagBag

    bag = DagBag(dag_folder=str(DAGS / "pipedrive_pipeline_report.py"))
    assert bag.import_errors == {}
    dag = bag.dags["pipedrive_pipeline_report"]
    assert not dag.catchup and dag.max_active_runs == 1 and dag.doc_md and dag.tags
    assert set(dag.params) == {"report_date"}
    assert dag.timetable.infer_manual_data_interval(run_after=utc("2026-11-24T09:30")).start == utc("2026-11-23")
    assert dag.task_dict["fill_stage_history"].pool == "pipedrive_api"
    assert dag.task_dict["build_report"].upstream_task_ids == {"fill_stage_history"}
    assert dag.task_dict["build_report"].trigger_rule == "none_failed"  # runs when the fill is skipped
    assert dag.task_dict["write_exports"].upstream_task_ids == {"build_report"}
    assert dag.task_dict["write_sql"].upstream_task_ids == {"build_report"}
    assert all(t.retries >= 1 for t in dag.tasks)


@pytest.mark.slow
def test_report_after_a_sync_on_the_sandboxes(airflow_db, pipedrive, brevo, data, postgres, pg_schema):
    from airflow.models import DagBag

    from tests.reports.conftest import CONN_ID

    account = generate_account(150, seed=21, now=datetime.now(UTC) - timedelta(hours=1))
    pipedrive(account)
    seed_lists(brevo())
    assert run_dag().state == "success"

    dag = DagBag(dag_folder=str(DAGS / "pipedrive_pipeline_report.py")).dags["pipedrive_pipeline_report"]
    for t in dag.tasks:
        t.retries = 0
    dag.task_dict["fill_stage_history"].token_budget = 200  # 5 deal flows at 40 tokens
    dag.task_dict["write_sql"].sql_conn_id = CONN_ID
    dag.task_dict["write_sql"].schema = pg_schema
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    dag_run = dag.test(run_conf={"report_date": day})
    assert dag_run.state == "success"
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert states["fill_stage_history"] == states["write_sql"] == "success"
    assert list((data / "state" / "stage_history").glob("deal_flow-*.parquet"))  # the fill appended rows

    folder = data / "reports" / day
    for name in ("deals_attribution", "funnel", "velocity", "revenue_by_source"):
        assert (folder / f"{name}.csv").stat().st_size > 100 and (folder / f"{name}.parquet").exists()
    assert all((folder / png).stat().st_size > 10_000 for png in ("funnel.png", "revenue_by_source.png",
                                                                   "time_in_stage.png"))
    assert "deals_attribution.csv" in (folder / "index.html").read_text()

    live = [d for d in account.deals if not d.get("is_deleted")]
    attribution = pd.read_parquet(folder / "deals_attribution.parquet")
    assert len(attribution) == len(live)  # every deal exists at the end of today; deleted ones are out
    assert attribution["status"].value_counts().to_dict() == pd.Series([d["status"] for d in live]).value_counts(
    ).to_dict()
    won_value = attribution.loc[attribution["status"] == "won", "value_base"].sum()
    revenue = pd.read_parquet(folder / "revenue_by_source.parquet")
    assert revenue["won_value_base"].sum() == pytest.approx(won_value, abs=0.05)
    assert revenue["won_deals"].sum() == sum(d["status"] == "won" for d in live)
    funnel = pd.read_parquet(folder / "funnel.parquet").query("period == 'all'")
    first_stages = funnel[funnel["stage_order"] == 1]
    assert first_stages["deals_reached"].sum() == len(live)  # each deal reached the first stage of its pipeline
    converted = {d["id"]: d["source_lead_id"] for d in live if d.get("source_lead_id")}
    assert converted  # the sync asks for the opt-in field, so the report knows the lead a deal came from
    found = attribution.set_index("deal_id")["source_lead_id"].dropna().to_dict()
    assert found == converted
    manifest = json.loads((folder / "_manifest.json").read_text())
    assert manifest["rows"]["deals_attribution"] == len(live)

    with postgres.connect() as conn:
        count = conn.execute(f'SELECT count(*) FROM "{pg_schema}".pipedrive_report_deals_attribution '
                             "WHERE report_date = %s", (day,)).fetchone()[0]
    assert count == len(live)
