"""pipedrive_to_brevo end to end through Airflow's own runner (``dag.test()``) on the sandboxes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sandbox.generator import generate_account
from tests.support.dag_runs import run_dag, seed_lists, summary_of

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def account():
    return generate_account(200, seed=11, now=datetime.now(UTC) - timedelta(hours=1))


def test_first_run_extracts_every_enabled_entity(airflow_db, pipedrive, brevo, data, account):
    pipedrive(account)
    seed_lists(brevo())
    dag_run = run_dag()
    assert dag_run.state == "success"
    summary = summary_of(data, dag_run)
    live_persons = sum(1 for p in account.persons if not p.get("is_deleted"))
    assert summary["extracted"]["persons"] == live_persons
    assert summary["snapshot_size"]["deals"] == len(account.deals)
    assert summary["api"]["pipedrive"]["calls"] > 0 and summary["api"]["pipedrive"]["http_429"] == 0
    assert (data / "state" / "watermarks" / "persons.json").exists()


def test_a_bad_backfill_window_fails_with_the_reason(airflow_db, pipedrive, brevo, data, account):
    pipedrive(account)
    brevo()
    dag_run = run_dag({"since": "2026-11-05", "until": "2026-11-01", "entities": ["persons"]})
    assert dag_run.state == "failed"
    assert not (data / "state" / "watermarks" / "persons.json").exists()
