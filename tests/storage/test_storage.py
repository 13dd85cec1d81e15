from __future__ import annotations

import pandas as pd
import pytest

from pipedrive_brevo.storage import DataLocation, default_root


def test_default_root_follows_env_then_airflow_home(monkeypatch, tmp_path):
    monkeypatch.setenv("PIPEDRIVE_BREVO_DATA", "s3://bucket/prefix")
    assert default_root() == "s3://bucket/prefix"
    monkeypatch.delenv("PIPEDRIVE_BREVO_DATA")
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    assert default_root() == str(tmp_path / "data")


@pytest.mark.parametrize("as_url", [False, True])
def test_round_trips_json_and_parquet(tmp_path, as_url):
    store = DataLocation(f"file://{tmp_path}" if as_url else str(tmp_path))
    store.write_json("runs/r1/summary.json", {"b": 1, "a": [1, 2]})
    assert store.read_json("runs/r1/summary.json") == {"a": [1, 2], "b": 1}
    assert store.read_json("runs/missing.json", default={}) == {}
    frame = pd.DataFrame({"id": [1, 2], "name": ["Zoë", "李雷"]})
    store.write_parquet("raw/persons/r1/page-00001.parquet", frame)
    store.write_parquet("raw/persons/r1/page-00002.parquet", frame.assign(id=[3, 4]))
    assert store.list("raw/persons") == ["raw/persons/r1/page-00001.parquet", "raw/persons/r1/page-00002.parquet"]
    pages = list(store.iter_parquet("raw/persons/r1"))
    assert [p["id"].tolist() for p in pages] == [[1, 2], [3, 4]]
    assert pages[0]["name"].tolist() == ["Zoë", "李雷"]


def test_writes_leave_no_temporary_files_and_replace_atomically(tmp_path):
    store = DataLocation(str(tmp_path))
    store.write_bytes("state/w.json", b"old")
    store.write_bytes("state/w.json", b"new")
    assert store.read_bytes("state/w.json") == b"new"
    assert [p.name for p in (tmp_path / "state").iterdir()] == ["w.json"]


def test_refuses_paths_that_leave_the_location(tmp_path):
    store = DataLocation(str(tmp_path))
    with pytest.raises(ValueError, match="leaves the data location"):
        store.write_bytes("../escape.txt", b"x")


def test_run_ids_name_their_folder_as_they_are():
    from pipedrive_brevo.storage import safe

    assert safe("manual__2026-11-24T07:38:36.963554+00:00") == "manual__2026-11-24T07:38:36.963554+00:00"
    assert safe("scheduled__2026-11-24T07:00:00+00:00") == "scheduled__2026-11-24T07:00:00+00:00"
    assert safe("odd/run id") == "odd_run_id"


def test_run_keys_keep_dags_that_share_run_ids_apart():
    from pipedrive_brevo.storage import run_key, safe

    hourly = "scheduled__2026-11-24T10:00:00+00:00"  # both hourly DAGs' run at 10:00 has this id
    assert run_key("pipedrive_to_brevo", hourly) == hourly  # contract §6: runs/<run_id>/
    assert run_key("pipedrive_webhook_events", "manual__2026-11-24T10:00:01+00:00_Ab12") == \
        "manual__2026-11-24T10:00:01+00:00_Ab12"
    keys = {run_key(dag, hourly) for dag in ("pipedrive_to_brevo", "brevo_to_pipedrive", "pipedrive_pipeline_report")}
    assert keys == {hourly, f"brevo_to_pipedrive.{hourly}", f"pipedrive_pipeline_report.{hourly}"}
    assert all(safe(key) == key for key in keys)  # one path segment each, unchanged
