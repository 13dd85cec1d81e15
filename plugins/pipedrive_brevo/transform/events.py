"""Brevo events from Pipedrive activity and deal changes (CONTRACT §4, events).

- ``activity_logged``: one per activity (not deleted): type, subject, done, due date, deal id.
- ``deal_stage_changed``: a deal whose stage differs from the previous deal snapshot: deal id,
  title, pipeline, previous and new stage (id and name), value, currency.
- ``deal_won`` / ``deal_lost``: a deal whose status became ``won`` / ``lost`` since the previous
  snapshot (or that is new in this snapshot and already closed).

Deal changes need two snapshots; without a previous one (the first run) there is nothing to
compare and no deal event is made: a first run would otherwise replay every deal ever closed.

**Sent once.** Every event has a deterministic ``event_id`` built from what it records
(``activity_logged:<activity id>``, ``deal_won:<deal id>:<won time>``,
``deal_stage_changed:<deal id>:<from>:<to>:<stage change time>``): a rerun over the same snapshots
makes the same ids, and :func:`.plan.diff` keeps only the ids not sent yet. A deal that is won,
reopened and won again makes two ``deal_won`` events, since its won time differs.

**Names.** The mapping's ``webhooks`` section renames an event when one of its rules matches the
Pipedrive change the event records with an exact object: ``event_object: activity`` with action
``added``/``create`` renames ``activity_logged``. The three deal events all record one Pipedrive
change (``updated``/``change`` of a ``deal``), so a rule for deal updates (the shipped mapping has
``deal_updated``) does not rename them: that would make won, lost and stage changes one event.

**Identifiers.** An event is attached to the contact of the activity's or deal's person (its
``ext_id`` and email, the contact's, also when the person was merged into another one). An event
whose person is not a synced contact cannot be attached to anyone and is a ``no_contact`` reject;
an event whose properties exceed Brevo's 50 KB limit is a ``properties_too_large`` reject.

Columns of an events frame: ``event_id``, ``event_name``, ``kind``, ``email``, ``ext_id``,
``event_date`` (ISO 8601, UTC), ``properties`` (JSON object text, keys sorted, nulls left out:
Brevo's event properties take strings, numbers, booleans, objects and arrays),
``entity`` (``activity``/``deal``) and ``record_id``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipedrive_brevo.config import WebhookRule
from pipedrive_brevo.transform import fields, records, rejects

KINDS: tuple[str, ...] = ("activity_logged", "deal_stage_changed", "deal_won", "deal_lost")
EVENT_COLUMNS: tuple[str, ...] = (
    "event_id", "event_name", "kind", "email", "ext_id", "event_date", "properties", "entity", "record_id",
)
MAX_PROPERTIES_BYTES = 50 * 1024
ACTIVITY_CHUNK = 500_000
#: The Pipedrive change (v2 action, object) each kind records; only kinds with a trigger of their
#: own can be renamed by a ``webhooks`` rule (see the module docstring).
_RENAMABLE: dict[str, tuple[str, str]] = {"activity_logged": ("create", "activity")}


def empty_events() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="string") for c in EVENT_COLUMNS})


def event_names(rules: Sequence[WebhookRule]) -> dict[str, str]:
    """The Brevo name of each event kind: its own, unless a ``webhooks`` rule renames it."""
    names = {kind: kind for kind in KINDS}
    for kind, (action, obj) in _RENAMABLE.items():
        rule = next((r for r in rules if r.event_object == obj and r.matches(action, obj)), None)
        if rule is not None:
            names[kind] = rule.brevo_event
    return names


def activity_events(activities: pd.DataFrame | None, links: pd.DataFrame, names: Mapping[str, str] | None = None,
                    *, since: str | pd.Timestamp | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(events, rejects)``: one ``activity_logged`` per activity that is not deleted.

    ``links`` maps persons to contacts: ``person_id``, ``email``, ``ext_id`` (the ``persons``
    frame of :class:`.contacts.ContactBuild`). ``since`` keeps only activities added at or after
    it, so a first sync need not replay years of history (the DAG's choice). Millions of
    activities are taken in chunks, which bounds the memory the intermediate texts take.
    """
    names = names or event_names(())
    if activities is None or not len(activities):
        return empty_events(), rejects.empty()
    keep = ~records.is_deleted(activities).to_numpy()
    if since is not None:
        start = pd.Timestamp(since)
        start = start.tz_localize("UTC") if start.tzinfo is None else start
        added = records.timestamps(records.column(activities, "add_time"))
        keep &= (added >= start).fillna(False).to_numpy()
    kept = activities[keep].reset_index(drop=True)
    results = [_activity_chunk(kept.iloc[at:at + ACTIVITY_CHUNK].reset_index(drop=True), links, names)
               for at in range(0, len(kept), ACTIVITY_CHUNK)]
    if not results:
        return empty_events(), rejects.empty()
    return (pd.concat([r[0] for r in results], ignore_index=True), rejects.concat([r[1] for r in results]))


def _activity_chunk(kept: pd.DataFrame, links: pd.DataFrame,
                    names: Mapping[str, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    activity_id = records.ids(records.column(kept, "id"))
    properties = pd.DataFrame({
        "activity_id": activity_id,
        "type": records.column(kept, "type"),
        "subject": records.column(kept, "subject"),
        "done": records.column(kept, "done"),
        "due_date": records.column(kept, "due_date"),
        "deal_id": records.ids(records.column(kept, "deal_id")),
    })
    frame = pd.DataFrame({
        "event_id": "activity_logged:" + activity_id.astype("string"),
        "kind": "activity_logged",
        "person_id": records.ids(records.column(kept, "person_id")),
        "event_date": _iso(records.column(kept, "add_time")),
        "entity": "activity",
        "record_id": activity_id.astype("string"),
    })
    return _finish(frame, properties, links, names)


def deal_events(current: pd.DataFrame | None, previous: pd.DataFrame | None, links: pd.DataFrame,
                names: Mapping[str, str] | None = None, *, stages: pd.DataFrame | None = None,
                pipelines: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(events, rejects)`` for the deal changes between two deal snapshots.

    ``stages`` and ``pipelines`` (v2 records) give the names of stage and pipeline ids.
    """
    names = names or event_names(())
    if current is None or previous is None or not len(current):
        return empty_events(), rejects.empty()
    now = _deal_view(current[~records.is_deleted(current).to_numpy()])
    before = _deal_view(previous).drop_duplicates("id", keep="last").set_index("id")
    stage_name = _names(stages)
    pipeline_name = _names(pipelines)

    prev_stage = now["id"].map(before["stage_id"])
    prev_status = now["id"].map(before["status"])
    known = now["id"].isin(before.index).to_numpy()
    stage_moved = known & (now["stage_id"].notna() & prev_stage.notna() & (now["stage_id"] != prev_stage)).fillna(
        False).to_numpy()
    won = (now["status"] == "won").fillna(False).to_numpy() & ~(prev_status == "won").fillna(False).to_numpy()
    lost = (now["status"] == "lost").fillna(False).to_numpy() & ~(prev_status == "lost").fillna(False).to_numpy()

    common = {
        "deal_id": now["id"], "title": now["title"], "pipeline_id": now["pipeline_id"],
        "pipeline": now["pipeline_id"].map(pipeline_name), "stage_id": now["stage_id"],
        "stage": now["stage_id"].map(stage_name), "value": now["value"], "currency": now["currency"],
    }
    parts: list[tuple[pd.DataFrame, pd.DataFrame]] = []
    if stage_moved.any():
        props = pd.DataFrame({**common, "previous_stage_id": prev_stage.astype("Int64"),
                              "previous_stage": prev_stage.map(stage_name)})[stage_moved]
        when = now["stage_change_time"].fillna(now["update_time"])
        frame = pd.DataFrame({
            "event_id": ("deal_stage_changed:" + now["id"].astype("string") + ":" + prev_stage.astype("Int64")
                         .astype("string") + ":" + now["stage_id"].astype("string") + ":" + when.astype("string")),
            "kind": "deal_stage_changed", "person_id": now["person_id"], "event_date": _iso(when),
            "entity": "deal", "record_id": now["id"].astype("string")})[stage_moved]
        parts.append((frame, props))
    for kind, mask, time_column in (("deal_won", won, "won_time"), ("deal_lost", lost, "lost_time")):
        if not mask.any():
            continue
        props = pd.DataFrame({**common, "status": now["status"],
                              **({"lost_reason": now["lost_reason"]} if kind == "deal_lost" else {})})[mask]
        when = now[time_column].fillna(now["close_time"]).fillna(now["update_time"])
        frame = pd.DataFrame({
            "event_id": f"{kind}:" + now["id"].astype("string") + ":" + when.astype("string"),
            "kind": kind, "person_id": now["person_id"], "event_date": _iso(when),
            "entity": "deal", "record_id": now["id"].astype("string")})[mask]
        parts.append((frame, props))
    if not parts:
        return empty_events(), rejects.empty()
    results = [_finish(frame, props, links, names) for frame, props in parts]
    return (pd.concat([r[0] for r in results], ignore_index=True),
            rejects.concat([r[1] for r in results]))


def _deal_view(deals: pd.DataFrame) -> pd.DataFrame:
    text = ("title", "currency", "status", "update_time", "stage_change_time", "won_time", "lost_time",
            "close_time", "lost_reason")
    view = pd.DataFrame({name: records.column(deals, name).astype("string") for name in text})
    for name in ("id", "person_id", "stage_id", "pipeline_id"):
        view[name] = records.ids(records.column(deals, name))
    view["value"] = pd.to_numeric(records.column(deals, "value"), errors="coerce")
    view["status"] = view["status"].str.lower()
    return view.reset_index(drop=True)


def _names(frame: pd.DataFrame | None) -> pd.Series:
    if frame is None or not len(frame):
        return pd.Series(dtype="string")
    ids = records.ids(records.column(frame, "id"))
    return pd.Series(records.column(frame, "name").astype("string").array, index=ids.to_numpy()).groupby(
        level=0).last()


def _iso(text: pd.Series) -> pd.Series:
    """API timestamps as ``2026-01-15T10:00:00Z`` (Brevo's event_date takes ISO 8601). v2 already
    writes them so and is kept as it is; other forms (v1 leads' milliseconds) are reformatted."""
    text = text.astype("string").reset_index(drop=True)
    plain = text.str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").fillna(False).to_numpy(dtype=bool)
    if plain.all():
        return text
    other = records.timestamps(text[~plain]).dt.strftime("%Y-%m-%dT%H:%M:%SZ").astype("string")
    return text.where(plain, other.reindex(text.index)).astype("string")


def _finish(frame: pd.DataFrame, properties: pd.DataFrame, links: pd.DataFrame,
            names: Mapping[str, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Attach each event to its contact, serialise its properties, and reject what cannot be sent."""
    frame = frame.reset_index(drop=True)
    properties = properties.reset_index(drop=True)
    linked = links[links["email"].notna()].drop_duplicates("person_id")
    person = linked.set_index("person_id")
    frame["email"] = frame["person_id"].map(person["email"]).astype("string")
    frame["ext_id"] = frame["person_id"].map(person["ext_id"]).astype("string")
    frame["event_name"] = frame["kind"].map(dict(names)).astype("string")
    frame["properties"] = json_objects(properties)

    orphan = frame["email"].isna().to_numpy()
    size = pc.binary_length(pa.array(frame["properties"].array)).to_numpy(zero_copy_only=False)
    too_large = size > MAX_PROPERTIES_BYTES
    problems = rejects.concat([
        rejects.make(str(e), frame["record_id"][orphan & (frame["entity"] == e).to_numpy()], "no_contact",
                     field="person_id", values=frame["person_id"][orphan & (frame["entity"] == e).to_numpy()],
                     detail=frame["event_id"][orphan & (frame["entity"] == e).to_numpy()])
        for e in frame["entity"][orphan].unique()
    ] + [rejects.make("event", frame["event_id"][too_large & ~orphan], "properties_too_large", field="properties",
                      values="", detail=frame["properties"][too_large & ~orphan].str.len().astype("string"))])
    kept = frame[~orphan & ~too_large]
    return kept[list(EVENT_COLUMNS)].astype("string").reset_index(drop=True), problems


def json_objects(properties: pd.DataFrame) -> pd.Series:
    """One JSON object text per row: keys sorted, null values left out.

    Each column becomes ``,"key":value`` (empty where the value is null) and all are joined in one
    pyarrow pass, so millions of events cost no ``json.dumps`` per event (see :func:`json_values`).
    """
    pieces = []
    for key in sorted(properties.columns):
        values = pa.array(json_values(properties[key]).array).cast(pa.large_string())
        prefixed = pc.binary_join_element_wise(_text("," + json.dumps(key) + ":"), values, _text(""))
        pieces.append(prefixed.fill_null(_text("")))
    if not pieces:
        return pd.Series(["{}"] * len(properties), dtype="string")
    body = pc.binary_join_element_wise(*pieces, _text(""))
    text = pc.binary_join_element_wise(_text("{"), pc.utf8_slice_codeunits(body, 1), _text("}"), _text(""))
    return pd.Series(pd.arrays.ArrowStringArray(text), dtype="string")


def _text(value: str) -> pa.Scalar:
    return pa.scalar(value, pa.large_string())


def json_values(values: pd.Series) -> pd.Series:
    """Each value as JSON text (NA where missing). Whole numbers, booleans and text without
    characters JSON escapes are written directly; the rest through ``json.dumps``, once per
    distinct value."""
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        flags = values.astype("boolean")
        truth = flags.fillna(False).to_numpy(dtype=bool)
        falsity = (~flags).fillna(False).to_numpy(dtype=bool)
        return pd.Series(pd.NA, index=values.index, dtype="string").mask(truth, "true").mask(falsity, "false")
    if pd.api.types.is_integer_dtype(dtype):
        return values.astype("Int64").astype("string")
    if isinstance(dtype, pd.StringDtype) or (pd.api.types.is_object_dtype(dtype) and values.map(
            lambda v: v is None or isinstance(v, str) or v is pd.NA or v != v).all()):
        text = values.astype("string")
        plain = ~text.str.contains(r'["\\\x00-\x1f]', regex=True).fillna(True)
        quoted = ('"' + text + '"').where(plain)
        escaped = pd.Series(fields.per_distinct(values[~plain.to_numpy()], _encode), index=values.index[~plain.to_numpy()],
                            dtype="string")
        return quoted.fillna(escaped.reindex(values.index)).astype("string")
    return pd.Series(fields.per_distinct(values, _encode), index=values.index, dtype="string")


def _encode(value: Any) -> str | None:
    return None if _missing(value) else json.dumps(_plain(value), ensure_ascii=False)


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float) and value != value


def _plain(value: Any) -> Any:
    """A JSON-able Python value (numpy scalars to Python, whole floats to ints)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
