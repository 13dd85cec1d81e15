"""Raw pages and entity snapshots: how extracted records are kept between tasks and runs.

A record is stored as its API JSON, untouched, beside the three columns every later step needs
(``id``, ``update_time``, ``is_deleted``). Parquet holds that without a schema per entity: custom
fields differ per account and nested values (emails, phones, addresses) would otherwise force a
schema Pipedrive can change at any time. :func:`records_frame` turns a snapshot back into the
one-column-per-key frame the transforms take.

A snapshot holds the latest version of every record of an entity ever extracted, by id; merging
a run's pages keeps, per id, the version with the latest ``update_time`` (ties: the later page,
which was read later). Deleted records stay in it, flagged, so deletes can be acted on.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

COLUMNS = ["id", "update_time", "is_deleted", "record"]


def page_frame(items: Iterable[Mapping[str, Any]], *, deleted: bool = False) -> pd.DataFrame:
    """One page of API records as a storable frame.

    ``deleted`` marks records that come from a deleted-items listing (deals with
    ``status=deleted``) whatever their body says.
    """
    rows = []
    for item in items:
        is_deleted = bool(deleted or item.get("is_deleted") or item.get("deleted"))
        rows.append((str(item["id"]), _time(item.get("update_time")), is_deleted,
                     json.dumps(item, ensure_ascii=False, separators=(",", ":"))))
    return pd.DataFrame(rows, columns=COLUMNS).astype({"id": "string", "update_time": "string", "is_deleted": bool})


def _time(value: Any) -> str:
    """A sortable UTC text form of v2 (``2026-11-20T10:15:00Z``) and v1 lead (``...:00.551Z``) times."""
    if not value:
        return ""
    text = str(value).replace(" ", "T")
    text = text.removesuffix("Z")
    if "." not in text:
        text += ".000"
    return text[:23] + "Z"


def merge(snapshot: pd.DataFrame | None, pages: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """The snapshot with every record of ``pages`` applied: per id, the latest ``update_time`` wins."""
    frames = [f for f in ([snapshot] if snapshot is not None else []) + list(pages) if len(f)]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in
                             zip(COLUMNS, ["string", "string", bool, "string"], strict=True)})
    combined = pd.concat(frames, ignore_index=True)
    combined["_order"] = range(len(combined))  # later pages win ties
    combined = combined.sort_values(["update_time", "_order"], kind="stable")
    latest = combined.drop_duplicates("id", keep="last").drop(columns="_order")
    return latest.sort_values("id", kind="stable").reset_index(drop=True)


def changed_ids(before: pd.DataFrame | None, after: pd.DataFrame) -> pd.Series:
    """Ids whose stored version differs between two snapshots (new ones included)."""
    if before is None or not len(before):
        return after["id"]
    joined = after[["id", "record"]].merge(before[["id", "record"]], on="id", how="left", suffixes=("", "_before"))
    return joined.loc[joined["record"] != joined["record_before"], "id"]


def records_frame(snapshot: pd.DataFrame, *, include_deleted: bool = True) -> pd.DataFrame:
    """The stored records as a frame with one column per top-level API key (what transforms take)."""
    rows = snapshot if include_deleted else snapshot[~snapshot["is_deleted"]]
    return pd.DataFrame([json.loads(text) for text in rows["record"]])


def max_update_time(frames: Iterable[pd.DataFrame]) -> str | None:
    times = [f["update_time"].max() for f in frames if len(f)]
    times = [t for t in times if t]
    return max(times) if times else None
