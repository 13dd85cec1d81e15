"""Every DAG file imports, and reads as the contract says."""

from __future__ import annotations

from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="module")
def bag():
    from airflow.models import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_no_import_errors(bag):
    assert bag.import_errors == {}


def test_sync_dag_shape(bag):
    dag = bag.dags["pipedrive_to_brevo"]
    assert dag.max_active_runs == 1 and not dag.catchup
    assert set(dag.params) == {"full_refresh", "since", "until", "entities", "dry_run", "reconcile_deletes"}
    assert dag.params["entities"] == ["persons", "deals", "organizations", "activities", "leads"]
    assert dag.task_dict["extract"].pool == "pipedrive_api"
    assert dag.task_dict["prepare_brevo"].pool == dag.task_dict["load"].pool == "brevo_api"
    assert dag.task_dict["prepare_brevo"].upstream_task_ids == {"extract_reference"}
    assert dag.task_dict["plan"].upstream_task_ids == {"merge", "prepare_brevo"}
    assert dag.task_dict["summary"].upstream_task_ids == {"load"}


def test_every_dag_has_tags_retries_and_docs(bag):
    for dag in bag.dags.values():
        assert dag.tags and dag.doc_md
        for t in dag.tasks:
            assert t.retries >= 1, f"{dag.dag_id}.{t.task_id} has no retries"


def test_a_broken_mapping_is_an_import_error_naming_file_and_key(tmp_path, monkeypatch):
    from airflow.models import DagBag

    bad = tmp_path / "bad.yaml"
    bad.write_text("person_mapping:\n  email: email\n  nme: FULLNAME\n")
    monkeypatch.setenv("PIPEDRIVE_BREVO_MAPPING", str(bad))
    errors = DagBag(dag_folder=str(DAGS / "pipedrive_to_brevo.py")).import_errors
    (message,) = errors.values()
    assert "bad.yaml" in message and "person_mapping.nme" in message and 'did you mean "name"' in message


def test_the_plugin_loader_does_not_import_the_library_as_top_level_modules():
    """Without plugins/.airflowignore, plugins/pipedrive_brevo/http.py would shadow the stdlib `http`."""
    import sys

    from airflow import plugins_manager

    plugins_manager.ensure_plugins_loaded()
    import http

    assert hasattr(http, "HTTPStatus") and "pipedrive_brevo" not in (sys.modules["http"].__file__ or "")
