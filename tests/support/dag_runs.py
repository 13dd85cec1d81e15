"""Running the DAGs through ``dag.test()`` on the sandboxes, and reading what a run left behind."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def run_dag(conf: dict[str, Any] | None = None, dag_id: str = "pipedrive_to_brevo"):
    """One run of a DAG by Airflow's own runner, with task retries off (``dag.test()`` really sleeps)."""
    from airflow.models import DagBag

    dag = DagBag(dag_folder=f"dags/{dag_id}.py").dags[dag_id]
    for t in dag.tasks:
        t.retries = 0
    return dag.test(run_conf=conf or {})


def summary_of(data: Path, dag_run) -> dict[str, Any]:
    from pipedrive_brevo.storage import safe

    return json.loads((data / "runs" / safe(dag_run.run_id) / "summary.json").read_text())


def seed_lists(brevo_sandbox) -> None:
    """Create in the Brevo sandbox every list the mapping names (Brevo list ids cannot be chosen)."""
    from pipedrive_brevo.config import load_mapping

    for list_id in sorted(load_mapping().list_ids()):
        brevo_sandbox.admin("POST", "/brevo/lists", {"id": list_id, "name": f"List {list_id}", "folderId": 1})


def brevo_contacts(sandbox) -> dict[str, dict[str, Any]]:
    return {c["email"]: c for c in sandbox.admin("GET", "/brevo/contacts")["contacts"]}


def writes(counters: dict[str, int]) -> dict[str, int]:
    """The write calls among a sandbox's counters."""
    return {k: v for k, v in counters.items() if k.startswith("write:")}


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
