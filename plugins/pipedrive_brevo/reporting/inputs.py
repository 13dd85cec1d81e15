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

from pipedrive_brevo import stage_history
from pipedrive_brevo.desired_state import reference, snapshot_records
from pipedrive_brevo.storage import DataLocation


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
    history: pd.DataFrame = field(default_factory=stage_history.empty)


def read_inputs(store: DataLocation) -> ReportInputs:
    """The report's inputs as the sync left them under ``store``."""
    def records(entity: str) -> pd.DataFrame:
        frame = snapshot_records(store, entity)
        return frame if frame is not None else pd.DataFrame()

    return ReportInputs(
        deals=records("deals"), persons=records("persons"), organizations=records("organizations"),
        leads=records("leads"), pipelines=reference(store, "pipelines"), stages=reference(store, "stages"),
        users=reference(store, "users"), deal_fields=reference(store, "deal_fields"),
        person_fields=reference(store, "person_fields"), history=stage_history.read_history(store))
