"""What a run did, as ``runs/<run_id>/summary.json`` and as a few readable lines in the task log.

Tasks may run on different workers, so each one records its own figures under the data location
(``runs/<run_id>/tasks/<task>.json``: API calls, retries, 429s, tokens, duration) and the summary
task adds them up with the per-entity merge results. Nothing here talks to an API.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from pipedrive_brevo.storage import DataLocation, safe

COUNTERS = ("calls", "retries", "http_429", "tokens", "throttle_wait_s")


def record_task(store: DataLocation, run_id: str, task: str, *, api: str | None = None,
                stats: dict[str, float] | None = None, duration_s: float | None = None,
                extra: dict[str, Any] | None = None) -> None:
    """Keep one task's figures for the run summary (a retried task overwrites its own file)."""
    store.write_json(f"runs/{safe(run_id)}/tasks/{safe(task)}.json",
                     {"task": task, "api": api, "stats": stats or {}, "duration_s": duration_s, **(extra or {})})


def build_summary(store: DataLocation, run_id: str, *, params: dict[str, Any] | None = None) -> dict[str, Any]:
    base = f"runs/{safe(run_id)}"
    tasks = [store.read_json(p) for p in store.list(f"{base}/tasks", ".json")]
    merged = [store.read_json(p) for p in store.list(f"{base}/merged", ".json")]
    apis: dict[str, dict[str, float]] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
    for task in tasks:
        if task.get("api"):
            for name in COUNTERS:
                apis[task["api"]][name] += task["stats"].get(name, 0)
    summary: dict[str, Any] = {
        "run_id": run_id,
        "params": params or {},
        "extracted": {m["entity"]: m["records_read"] for m in merged},
        "changed": {m["entity"]: m["changed"] for m in merged},
        "snapshot_size": {m["entity"]: m["snapshot_size"] for m in merged},
        "incomplete_entities": sorted(m["entity"] for m in merged if not m["complete"]),
        "api": {api: {k: round(v, 2) for k, v in counters.items()} for api, counters in sorted(apis.items())},
        "durations_s": {t["task"]: round(t["duration_s"], 2) for t in tasks if t.get("duration_s") is not None},
    }
    for task in tasks:  # later steps (transform, load) add their own sections
        for key, value in task.get("summary", {}).items():
            summary[key] = value
    return summary


def format_summary(summary: dict[str, Any]) -> str:
    """The summary as the few lines a person reads in the task log."""
    lines = [f"Run {summary['run_id']}"]
    for entity, count in sorted(summary.get("extracted", {}).items()):
        lines.append(f"  {entity:<14} extracted {count:>8,}  changed {summary['changed'][entity]:>8,}  "
                     f"in snapshot {summary['snapshot_size'][entity]:>9,}")
    if summary.get("incomplete_entities"):
        lines.append(f"  incomplete (daily token budget spent; the next run resumes): "
                     f"{', '.join(summary['incomplete_entities'])}")
    lines.extend(_brevo_lines(summary))
    for api, counters in summary.get("api", {}).items():
        lines.append(f"  {api:<14} " + ", ".join(f"{k} {v:g}" for k, v in counters.items()))
    return "\n".join(lines)


def _brevo_lines(summary: dict[str, Any]) -> list[str]:
    """The plan and what the load sent (sections the plan and load tasks add)."""
    lines: list[str] = []
    plan, load = summary.get("plan"), summary.get("load")
    if plan is None:
        return lines
    persons = summary.get("persons", {})
    rejects = summary.get("rejects", {})
    lines.append(f"  contacts       {summary.get('contacts_desired', 0):,} desired from "
                 f"{sum(persons.values()):,} persons; rejected {sum(rejects.values()):,} rows"
                 + (f" ({', '.join(f'{k} {v}' for k, v in sorted(rejects.items()))})" if rejects else ""))
    lines.append(f"  plan           create {plan['created']:,}, update {plan['updated']:,}, "
                 f"unchanged {plan['unchanged']:,}, list adds {plan['list_adds']:,}, "
                 f"list removes {plan['list_removes']:,}, unlist {plan['unlisted']:,}, delete {plan['deleted']:,}, "
                 f"events {plan['events']:,}, companies {plan.get('companies', 0):,}")
    if not load or load.get("dry_run"):
        lines.append("  load           dry run: nothing sent to Brevo (see runs/<run_id>/plan.parquet)")
        return lines
    lines.append(f"  sent to Brevo  created {load.get('created', 0):,}, updated {load.get('updated', 0):,}, "
                 f"list adds {load.get('list_adds', 0):,}, list removes {load.get('list_removes', 0):,}, "
                 f"deleted {load.get('deleted', 0):,}, events {load.get('events_sent', 0):,}, "
                 f"companies {load.get('companies_created', 0) + load.get('companies_updated', 0):,}, "
                 f"rejected by Brevo {load.get('rejected_by_brevo', 0):,}")
    return lines
