"""Operators that bring Pipedrive data under the data location: extract, merge, reference data.

Thin on purpose: each one reads its templated arguments, builds a hook and a
:class:`~pipedrive_brevo.storage.DataLocation`, calls a function of
:mod:`pipedrive_brevo.extraction` and records its figures for the run summary. The logic, and its
tests, live there. Heavy imports (pandas, the HTTP layer) happen inside ``execute`` so that
parsing the DAG stays cheap.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC
from typing import Any

from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowFailException


class PipedriveExtractOperator(BaseOperator):
    """Extract one entity (all its streams) for this run's window into raw pages.

    :param entity: persons, organizations, deals, activities or leads.
    :param full_refresh: ignore the watermarks and extract everything.
    :param since: start of a backfill window (ISO 8601), or None.
    :param until: end (exclusive) of a backfill window, or None.
    :param reconcile_deletes: also scan all ids to find records deleted in Pipedrive (done anyway
        by the first run of each UTC day).
    :param pipedrive_conn_id: the Airflow connection of the Pipedrive account.
    :param data_location: where runs keep their files; default ``PIPEDRIVE_BREVO_DATA``.
    """

    template_fields: Sequence[str] = ("entity", "full_refresh", "since", "until", "reconcile_deletes",
                                      "pipedrive_conn_id", "data_location")

    def __init__(self, *, entity: str, full_refresh: bool | str = False, since: str | None = None,
                 until: str | None = None, reconcile_deletes: bool | str = False,
                 pipedrive_conn_id: str = "pipedrive_default",
                 data_location: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.entity = entity
        self.full_refresh = full_refresh
        self.since = since
        self.until = until
        self.reconcile_deletes = reconcile_deletes
        self.pipedrive_conn_id = pipedrive_conn_id
        self.data_location = data_location

    def execute(self, context: Context) -> dict[str, Any]:
        from pipedrive_brevo.extraction import (
            STREAMS,
            extract_entity,
            read_watermark,
            reconcile_deletes,
            reconcile_due,
            record_reconciled,
        )
        from pipedrive_brevo.hooks.pipedrive import PipedriveHook
        from pipedrive_brevo.run_summary import record_task
        from pipedrive_brevo.storage import DataLocation
        from pipedrive_brevo.windows import DEFAULT_LAG, WindowError, extraction_window, requested_bounds

        if self.entity not in STREAMS:
            raise AirflowFailException(f"unknown entity {self.entity!r}; valid: {', '.join(STREAMS)}")
        store = DataLocation(self.data_location)
        dag_run = context["dag_run"]
        run_id, run_after = context["run_id"], dag_run.run_after
        interval_end = getattr(dag_run, "data_interval_end", None)
        since, until = requested_bounds(run_type=getattr(dag_run, "run_type", None),
                                        interval_start=getattr(dag_run, "data_interval_start", None),
                                        interval_end=interval_end, since=self.since, until=self.until)
        if (since, until) != (self.since or None, self.until or None) and interval_end is not None:
            # A backfilled interval lies in the past: its end must not be cut by the lag.
            run_after = max(run_after, interval_end + DEFAULT_LAG)
        try:
            windows = {s.name: extraction_window(run_after=run_after, watermark=read_watermark(store, s.name),
                                                 full_refresh=_flag(self.full_refresh), since=since,
                                                 until=until)
                       for s in STREAMS[self.entity]}
        except WindowError as exc:  # a parameter mistake: retrying cannot help
            raise AirflowFailException(str(exc)) from exc
        for name, window in windows.items():
            self.log.info("%s: window %s", name, window.to_dict())
        hook = PipedriveHook(self.pipedrive_conn_id)
        started = time.monotonic()
        result = extract_entity(hook, store, self.entity, windows, run_id)
        today = run_after.astimezone(UTC).date().isoformat()
        if result["complete"] and reconcile_due(store, self.entity, today, _flag(self.reconcile_deletes)):
            result["deleted_found"] = reconcile_deletes(hook, store, self.entity, run_id, deleted_at=run_after)
            record_reconciled(store, self.entity, today, run_id, result["deleted_found"])
            self.log.info("%s: reconciliation found %d records deleted in Pipedrive", self.entity,
                          result["deleted_found"])
        record_task(store, run_id, f"extract_{self.entity}", api="pipedrive", stats=hook.stats.snapshot(),
                    duration_s=time.monotonic() - started)
        self.log.info("%s: %d records in %s", self.entity, result["records"],
                      {k: v["pages"] for k, v in result["streams"].items()})
        return result


class SnapshotMergeOperator(BaseOperator):
    """Apply one entity's extracted pages to its snapshot and advance its watermarks.

    :param extraction: what :class:`PipedriveExtractOperator` returned for the entity.
    :param data_location: where runs keep their files; default ``PIPEDRIVE_BREVO_DATA``.
    """

    template_fields: Sequence[str] = ("extraction", "data_location")

    def __init__(self, *, extraction: dict[str, Any], data_location: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.extraction = extraction
        self.data_location = data_location

    def execute(self, context: Context) -> dict[str, Any]:
        from pipedrive_brevo.extraction import merge_entity
        from pipedrive_brevo.run_summary import record_task
        from pipedrive_brevo.storage import DataLocation

        store = DataLocation(self.data_location)
        started = time.monotonic()
        result = merge_entity(store, self.extraction)
        record_task(store, context["run_id"], f"merge_{result['entity']}", duration_s=time.monotonic() - started)
        return result


class PipedriveReferenceOperator(BaseOperator):
    """Fetch field definitions, pipelines, stages, users and label types once for the run.

    :param pipedrive_conn_id: the Airflow connection of the Pipedrive account.
    :param data_location: where runs keep their files; default ``PIPEDRIVE_BREVO_DATA``.
    """

    template_fields: Sequence[str] = ("pipedrive_conn_id", "data_location")

    def __init__(self, *, pipedrive_conn_id: str = "pipedrive_default", data_location: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pipedrive_conn_id = pipedrive_conn_id
        self.data_location = data_location

    def execute(self, context: Context) -> dict[str, int]:
        from pipedrive_brevo.extraction import extract_reference
        from pipedrive_brevo.hooks.pipedrive import PipedriveHook
        from pipedrive_brevo.run_summary import record_task
        from pipedrive_brevo.storage import DataLocation

        store = DataLocation(self.data_location)
        hook = PipedriveHook(self.pipedrive_conn_id)
        started = time.monotonic()
        counts = extract_reference(hook, store)
        record_task(store, context["run_id"], "extract_reference", api="pipedrive", stats=hook.stats.snapshot(),
                    duration_s=time.monotonic() - started)
        return counts


def _flag(value: bool | str | None) -> bool:
    """A boolean param, whether Jinja rendered it natively or as text."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)
