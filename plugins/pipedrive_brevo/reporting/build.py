"""The four report tables of one date, from the data location (or from inputs a test built)."""

from __future__ import annotations

from datetime import date

import pandas as pd

from pipedrive_brevo.config import Mapping
from pipedrive_brevo.reporting import TABLES
from pipedrive_brevo.reporting.as_of import cutoff_of, deals_as_of, stage_events
from pipedrive_brevo.reporting.attribution import deals_attribution
from pipedrive_brevo.reporting.funnel import funnel
from pipedrive_brevo.reporting.inputs import ReportInputs, read_inputs
from pipedrive_brevo.reporting.revenue import revenue_by_source
from pipedrive_brevo.reporting.velocity import velocity
from pipedrive_brevo.storage import DataLocation


def build_report(inputs: ReportInputs, mapping: Mapping, report_date: str | date) -> dict[str, pd.DataFrame]:
    """``deals_attribution``, ``funnel``, ``velocity``, ``revenue_by_source`` as of ``report_date``.

    Every frame carries ``report_date`` (text ``YYYY-MM-DD``). Pure: the same inputs give the same
    tables, so rebuilding a past date (a backfill) is just calling this again.
    """
    day = str(report_date)
    cutoff_of(day)  # a clear error for anything but a date
    pipeline_ids = mapping.options.report.pipeline_ids
    deals = deals_as_of(inputs, day, pipeline_ids=pipeline_ids)
    attribution = deals_attribution(deals, inputs, mapping, day)
    events = stage_events(deals, inputs, day)
    names = _pipeline_names(inputs)
    tables = {
        "deals_attribution": attribution,
        "funnel": funnel(attribution, events, inputs.stages, names, day, pipeline_ids=pipeline_ids),
        "velocity": velocity(attribution, events, inputs.stages, names, day, pipeline_ids=pipeline_ids),
        "revenue_by_source": revenue_by_source(attribution, day, mapping.options.currency.base),
    }
    return {name: tables[name] for name in TABLES}


def build_report_from(store: DataLocation, mapping: Mapping, report_date: str | date) -> dict[str, pd.DataFrame]:
    """:func:`build_report` on what the sync left under ``store``."""
    return build_report(read_inputs(store), mapping, report_date)


def _pipeline_names(inputs: ReportInputs) -> pd.Series:
    from pipedrive_brevo.transform import records

    frame = pd.DataFrame(inputs.pipelines)
    if not len(frame) or "id" not in frame:
        return pd.Series(dtype="string")
    names = pd.Series(records.column(frame, "name").astype("string").to_numpy(), index=records.ids(frame["id"]))
    return names[~names.index.duplicated(keep="last")]


def tables_folder(run_id: str) -> str:
    """Where a run keeps its built tables for the tasks after it (``runs/<run_id>/report/``)."""
    from pipedrive_brevo.storage import safe

    return f"runs/{safe(run_id)}/report"


def save_tables(store: DataLocation, run_id: str, tables: dict[str, pd.DataFrame]) -> dict[str, int]:
    """Keep the built tables under the run's folder (tasks share nothing but the data location)."""
    for name, frame in tables.items():
        store.write_parquet(f"{tables_folder(run_id)}/{name}.parquet", frame)
    return {name: len(frame) for name, frame in tables.items()}


def load_tables(store: DataLocation, run_id: str) -> dict[str, pd.DataFrame]:
    """The tables :func:`save_tables` kept for ``run_id``, in :data:`TABLES` order."""
    folder = tables_folder(run_id)
    missing = [n for n in TABLES if not store.exists(f"{folder}/{n}.parquet")]
    if missing:
        raise FileNotFoundError(f"{store.path(folder)} lacks {', '.join(missing)}: run build_report first")
    return {name: store.read_parquet(f"{folder}/{name}.parquet") for name in TABLES}
