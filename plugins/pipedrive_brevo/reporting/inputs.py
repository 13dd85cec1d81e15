"""What the report reads: the sync's snapshots, its reference lists and the stage history.

The report extracts nothing the sync already keeps (contract §6: one data location, no
worker-local files), so a report for any date can be rebuilt from the data location alone. A
missing snapshot (an entity the mapping does not sync) is an empty frame, not an error: the
columns that depend on it are null.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pipedrive_brevo.desired_state import reference, snapshot_records
from pipedrive_brevo.storage import DataLocation

#: The stage history's columns and dtypes (the shared interface of :mod:`pipedrive_brevo.stage_history`).
HISTORY_DTYPES: dict[str, str] = {
    "deal_id": "int64", "pipeline_id": "Int64", "from_stage_id": "Int64", "to_stage_id": "Int64",
    "status": "string", "changed_at": "datetime64[us, UTC]", "source": "string", "run_id": "string",
}


def empty_history() -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in HISTORY_DTYPES.items()})


@dataclass(frozen=True)
class ReportInputs:
    """Everything one report is built from. Record frames are API-shaped (one column per key)."""

    deals: pd.DataFrame
    persons: pd.DataFrame = field(default_factory=pd.DataFrame)
    organizations: pd.DataFrame = field(default_factory=pd.DataFrame)
    leads: pd.DataFrame = field(default_factory=pd.DataFrame)
    pipelines: list[dict[str, Any]] = field(default_factory=list)
    stages: list[dict[str, Any]] = field(default_factory=list)
    users: list[dict[str, Any]] = field(default_factory=list)
    deal_fields: list[dict[str, Any]] = field(default_factory=list)
    person_fields: list[dict[str, Any]] = field(default_factory=list)
    history: pd.DataFrame = field(default_factory=empty_history)


def read_history(store: DataLocation) -> pd.DataFrame:
    """The stage history (every source), through :mod:`pipedrive_brevo.stage_history`."""
    from pipedrive_brevo.stage_history import read_history as read

    return conform_history(read(store))


def conform_history(history: pd.DataFrame | None) -> pd.DataFrame:
    """History rows with the documented dtypes (a frame read back from Parquet or built by hand)."""
    if history is None or not len(history):
        return empty_history()
    out = history.copy()
    for name, dtype in HISTORY_DTYPES.items():
        if name not in out:
            out[name] = pd.Series(pd.NA, index=out.index, dtype="object")
        if name == "changed_at":
            out[name] = pd.to_datetime(out[name], utc=True, format="ISO8601").astype(dtype)
        else:
            out[name] = out[name].astype(dtype)
    return out[list(HISTORY_DTYPES)].reset_index(drop=True)


def read_inputs(store: DataLocation) -> ReportInputs:
    """The report's inputs as the sync left them under ``store``."""
    def records(entity: str) -> pd.DataFrame:
        frame = snapshot_records(store, entity)
        return frame if frame is not None else pd.DataFrame()

    return ReportInputs(
        deals=records("deals"), persons=records("persons"), organizations=records("organizations"),
        leads=records("leads"), pipelines=reference(store, "pipelines"), stages=reference(store, "stages"),
        users=reference(store, "users"), deal_fields=reference(store, "deal_fields"),
        person_fields=reference(store, "person_fields"), history=read_history(store))
