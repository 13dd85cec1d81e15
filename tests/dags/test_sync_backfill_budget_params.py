"""pipedrive_to_brevo: a backfill window, a spent daily budget, refused params (dag.test() on the sandboxes).

Why ``dag.test(run_conf=...)`` and not ``airflow backfill create``: in Airflow 3 a backfill only
*creates* dag runs (run type ``backfill``, one per interval); a running scheduler and executor
must then pick them up, which takes well over this suite's time budget to start and settle. What
a backfill run does differently is covered here: a ``since``/``until`` run is what the params
give, and a run Airflow's backfill made turns its data interval into the same ``since``/``until``
(:func:`pipedrive_brevo.windows.requested_bounds`, tested in ``tests/sync/test_backfill_bounds.py``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sandbox.generator import generate_account
from tests.support.dag_runs import brevo_contacts, delta, run_dag, seed_lists, summary_of, writes

pytestmark = pytest.mark.slow

NOW = datetime.now(UTC).replace(microsecond=0)


def changed(before, after):
    """The write calls made between two readings of a sandbox's counters."""
    return writes(delta(before, after))


def watermarks(data):
    return {p.name: p.read_text() for p in sorted((data / "state" / "watermarks").glob("*.json"))}


def stamp(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_backfill_window_resends_only_its_changes_and_keeps_the_watermarks(airflow_db, pipedrive, brevo, data):
    # every generated record is older than NOW - 1 h; the changes below are newer, yet behind the watermark
    account = generate_account(60, seed=5, now=NOW - timedelta(hours=1))
    p = pipedrive(account)
    b = brevo()
    seed_lists(b)
    assert run_dag().state == "success"
    found = brevo_contacts(b)
    inside, outside = sorted(found.values(), key=lambda c: int(c["ext_id"]))[:2]
    since, until = NOW - timedelta(minutes=50), NOW - timedelta(minutes=30)
    p.admin("POST", "/records/persons", [
        {"id": int(inside["ext_id"]), "first_name": "Inside", "update_time": stamp(since + timedelta(minutes=10))},
        {"id": int(outside["ext_id"]), "first_name": "Outside", "update_time": stamp(until + timedelta(minutes=5))},
    ])
    marks = watermarks(data)
    before = b.counters()

    dag_run = run_dag({"since": stamp(since), "until": stamp(until), "entities": ["persons"]})

    assert dag_run.state == "success"
    assert changed(before, b.counters()) == {"write:POST /v3/contacts": 1}  # one small upsert, no import
    summary = summary_of(data, dag_run)
    assert summary["extracted"] == {"persons": 1}  # only the change inside [since, until)
    assert summary["plan"]["updated"] == 1 and summary["plan"]["created"] == 0
    after = brevo_contacts(b)
    assert after[inside["email"]]["attributes"]["FIRSTNAME"] == "Inside"
    assert after[outside["email"]]["attributes"]["FIRSTNAME"] == outside["attributes"]["FIRSTNAME"]
    assert watermarks(data) == marks  # a backfill never moves them


def test_a_spent_daily_budget_loads_what_was_read_and_the_next_run_resumes(airflow_db, pipedrive, brevo, data,
                                                                           tmp_path_factory):
    from pipedrive_brevo.extraction import extract_reference
    from pipedrive_brevo.hooks.pipedrive import PipedriveHook
    from pipedrive_brevo.storage import DataLocation

    # 700 persons: two pages of persons (500 a page), so the budget can run out between them
    account = generate_account(700, seed=7, now=NOW - timedelta(hours=1))
    p = pipedrive(account)
    b = brevo()
    seed_lists(b)
    extract_reference(PipedriveHook(), DataLocation(str(tmp_path_factory.mktemp("probe"))))
    reference_tokens = p.admin("GET", "/pipedrive/usage")["tokens_spent"]
    # the reference data and one page of persons (10 tokens), then the budget is spent
    p.admin("POST", "/pipedrive/config", {"daily_budget": reference_tokens + 10})

    first = run_dag({"entities": ["persons"]})

    assert first.state == "success"  # a clean checkpoint, not a failure
    summary = summary_of(data, first)
    assert summary["extracted"]["persons"] == 500
    assert summary["incomplete_entities"] == ["persons"]
    loaded = brevo_contacts(b)
    assert len(loaded) == summary["contacts_desired"] == summary["load"]["created"] > 0
    assert (data / "state" / "watermarks" / "persons.json").exists()  # as far as persons are complete

    p.admin("POST", "/pipedrive/config", {"daily_budget": 30_000})
    before = b.counters()
    second = run_dag({"entities": ["persons"]})

    assert second.state == "success"
    summary = summary_of(data, second)
    assert summary["incomplete_entities"] == []
    live = sum(1 for person in account.persons if not person.get("is_deleted"))
    # the rest of the persons (the one at the checkpoint's last update_time may be read again)
    assert live - 500 <= summary["extracted"]["persons"] <= live - 500 + 5
    after = brevo_contacts(b)
    assert len(after) == summary["contacts_desired"]
    assert summary["load"]["created"] == len(after) - len(loaded)  # nobody created twice
    # the first run's contacts are not sent again, but for the few a person of the second page shares an email with
    assert summary["plan"]["unchanged"] + summary["plan"]["updated"] == len(loaded)
    assert summary["load"]["updated"] == summary["plan"]["updated"] <= 5
    assert set(loaded) <= set(after)
    assert all(after[e]["id"] == c["id"] for e, c in loaded.items())  # the same Brevo contacts
    sent = changed(before, b.counters())
    assert "write:DELETE /v3/contacts/{identifier}" not in sent


@pytest.mark.parametrize("conf, named", [
    ({"entities": ["widgets"]}, "widgets"),
    ({"since": "last tuesday"}, "last tuesday"),
    ({"until": "2026-13"}, "2026-13"),
])
def test_a_bad_param_is_refused_naming_it(airflow_db, pipedrive, brevo, data, conf, named):
    from airflow.sdk.exceptions import ParamValidationError

    pipedrive(generate_account(5, seed=1, now=NOW - timedelta(hours=1)))
    b = brevo()
    before = b.counters()
    with pytest.raises(ParamValidationError) as refused:
        run_dag(conf)
    assert named in str(refused.value)
    assert changed(before, b.counters()) == {}
    assert not (data / "state").exists()
