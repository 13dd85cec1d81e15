"""The plan: the desired contacts diffed against what Brevo was last sent (DESIGN, "diff, then send").

:func:`diff` compares two frames of the contact shape (:mod:`.contacts`: ``email``, ``ext_id``,
one column per attribute, ``list_ids``), the desired state and the sync state, and returns a
:class:`Plan` holding only the differences; an unchanged contact appears nowhere in it.
:func:`apply_plan` is its inverse: applied to the state it was diffed against, a plan gives the
desired state, and a second diff is empty. The loader applies the part of a plan Brevo accepted,
batch by batch, so a crash resumes where it stopped.

The plan's frames:

``upserts``: contacts to create or update (both go through Brevo's import, an upsert)

=================  =====================================================================================
``action``         ``create`` or ``update``
``email``          the contact's email (after the update)
``ext_id``         the winning Pipedrive person id (the ``EXT_ID`` attribute)
``previous_email`` the email Brevo knows the contact by, when it changed in Pipedrive (the contact is
                   found by ``ext_id`` and renamed: ``PUT /contacts/{ext_id}?identifierType=ext_id``
                   with ``attributes.EMAIL``); NA otherwise
``changed``        tuple of the attribute names whose value changed (``EXT_ID`` when the winner
                   changed); for a create, every attribute that has a value
one per attribute  the new value of each *changed* attribute (typed as in the contacts frame); null in
                   an attribute that is not in ``changed``. A null in a changed one means "clear it"
=================  =====================================================================================

``list_adds`` / ``list_removes``: ``list_id`` (int), ``email``: memberships to add or remove, mapped
lists only. A renamed contact's memberships are under its new email (rename first).

``removals``: contacts Brevo holds that the desired state no longer has: ``email``, ``ext_id``,
``action`` (``unlist``: taken out of every mapped list it is in, through ``list_removes``; ``delete``:
the Brevo contact is deleted) and ``reason`` (``person_deleted`` when its person was deleted in
Pipedrive; ``not_synced`` when it stopped being a contact for another reason: its email became
invalid, it moved, it merged). Only ``person_deleted`` contacts are ever deleted, and only with
``options.delete_behavior: hard``; the others are unlisted.

``events``: the events not sent yet (:mod:`.events`), by their deterministic ``event_id``.

Two helpers shape the state a diff compares against: :func:`mirror_memberships` replaces the
mapped lists' memberships with what Brevo holds (first run, full refresh), and :func:`scope` cuts
the part an incremental run rebuilt (:func:`.contacts.affected_persons`).

All of it is column-wise: rows are matched by email with pyarrow hashing, attributes compared a
column at a time (:func:`.fields.same`), memberships exploded only for the contacts whose lists
differ, and tuples built once per distinct value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pipedrive_brevo.transform import fields, lists, records
from pipedrive_brevo.transform.contacts import KEY_COLUMNS, LISTS_COLUMN
from pipedrive_brevo.transform.events import empty_events

EXT_ID_ATTRIBUTE = "EXT_ID"
UPSERT_COLUMNS: tuple[str, ...] = ("action", "email", "ext_id", "previous_email", "changed")
REMOVAL_COLUMNS: tuple[str, ...] = ("email", "ext_id", "action", "reason")


@dataclass(frozen=True)
class Plan:
    """What to send to Brevo (see the module docstring for every frame's columns)."""

    upserts: pd.DataFrame
    list_adds: pd.DataFrame
    list_removes: pd.DataFrame
    removals: pd.DataFrame
    events: pd.DataFrame = field(default_factory=lambda: empty_events())
    attributes: tuple[str, ...] = ()
    types: Mapping[str, str] = field(default_factory=dict)
    unchanged: int = 0

    def is_empty(self) -> bool:
        return not (len(self.upserts) or len(self.list_adds) or len(self.list_removes) or len(self.removals)
                    or len(self.events))

    def creates(self) -> pd.DataFrame:
        return self.upserts[self.upserts["action"] == "create"]

    def updates(self) -> pd.DataFrame:
        return self.upserts[self.upserts["action"] == "update"]

    def by_list(self, frame: pd.DataFrame) -> dict[int, list[str]]:
        """``list_adds`` or ``list_removes`` as list id → emails, the shape Brevo's list calls take."""
        return {int(list_id): group["email"].tolist() for list_id, group in frame.groupby("list_id", sort=True)}

    def frames(self) -> dict[str, pd.DataFrame]:
        """The plan's frames by name, to be written (``plan.parquet`` per frame) or logged."""
        return {"upserts": self.upserts, "list_adds": self.list_adds, "list_removes": self.list_removes,
                "removals": self.removals, "events": self.events}

    def summary(self) -> dict[str, int]:
        """Counts for the run summary."""
        removals = self.removals["action"].value_counts()
        return {
            "created": int((self.upserts["action"] == "create").sum()),
            "updated": int((self.upserts["action"] == "update").sum()),
            "renamed": int(self.upserts["previous_email"].notna().sum()),
            "unchanged": self.unchanged,
            "unlisted": int(removals.get("unlist", 0)),
            "deleted": int(removals.get("delete", 0)),
            "list_adds": len(self.list_adds),
            "list_removes": len(self.list_removes),
            "events": len(self.events),
        }


# ------------------------------------------------------------------------------- the state shape

def attribute_columns(frame: pd.DataFrame) -> list[str]:
    """The attribute columns of a contact-shaped frame (everything but the key and the lists)."""
    return [c for c in frame.columns if c not in (*KEY_COLUMNS, LISTS_COLUMN)]


def types_of(frame: pd.DataFrame) -> dict[str, str]:
    """Each attribute column's Brevo type as its dtype says (object columns are multiple-choice)."""
    by_dtype = {"string": "text", "str": "text", "Float64": "float", "float64": "float", "boolean": "boolean",
                "bool": "boolean"}
    return {c: by_dtype.get(str(frame[c].dtype), "multiple-choice") for c in attribute_columns(frame)}


def conform(frame: pd.DataFrame | None, types: Mapping[str, str]) -> pd.DataFrame:
    """A contact-shaped frame with exactly these attribute columns, each in its dtype, list_ids as
    sorted tuples, one row per email, sorted by email: fresh and Parquet-read frames alike.

    An attribute the frame lacks is all null (an attribute newly mapped: every contact gets it);
    columns not in ``types`` are dropped (an attribute no longer mapped is no longer ours).
    """
    frame = pd.DataFrame(columns=[*KEY_COLUMNS, LISTS_COLUMN]) if frame is None else frame.reset_index(drop=True)
    n = len(frame)
    columns: dict[str, Any] = {}
    for key in KEY_COLUMNS:
        columns[key] = (frame[key].astype("string") if key in frame
                        else pd.Series(pd.array([pd.NA] * n, dtype="string")))
    for name, kind in types.items():
        if name in frame:
            columns[name] = fields.canonical(frame[name], kind)
        else:
            columns[name] = pd.Series([None] * n if kind == "multiple-choice" else pd.NA, index=frame.index,
                                      dtype=fields.DTYPES[kind])
    raw_lists = frame[LISTS_COLUMN] if LISTS_COLUMN in frame else pd.Series([None] * n, dtype="object")
    columns[LISTS_COLUMN] = pd.Series(fields.per_distinct(raw_lists, _list_tuple), index=frame.index, dtype="object")
    out = pd.DataFrame(columns, index=frame.index)
    if out["email"].isna().any():
        out = out[out["email"].notna().to_numpy()]
    if not out["email"].is_unique:
        out = out.drop_duplicates("email", keep="last")
    if not out["email"].is_monotonic_increasing:
        out = out.sort_values("email", kind="stable")
    return out.reset_index(drop=True)


def _list_tuple(value: object) -> tuple[int, ...]:
    if isinstance(value, (list, tuple, np.ndarray)):
        return tuple(sorted({int(v) for v in value}))
    return ()


def scope(sent: pd.DataFrame, emails: Iterable[str], ext_ids: Iterable[str] = ()) -> pd.DataFrame:
    """The part of the sync state an incremental diff compares against: the contacts with one of
    these emails, or whose ext_id is one of these person ids (a contact whose winner changed or
    was deleted). Diffing a partial desired state against it plans only those contacts, and
    :func:`apply_plan` applies that plan to the whole state."""
    wanted = pd.Series(pd.array([str(e) for e in emails], dtype="string")).dropna()
    ids = pd.Series(pd.array([str(i) for i in ext_ids], dtype="string"))
    keep = records.isin(sent["email"].astype("string"), wanted) | records.isin(sent["ext_id"].astype("string"), ids)
    return sent[keep]


# ----------------------------------------------------------------------------------------- diff

def diff(desired: pd.DataFrame, sent: pd.DataFrame | None, *, deleted_ext_ids: Iterable[str] = (),
         delete_behavior: str = "soft", events: pd.DataFrame | None = None,
         sent_event_ids: Iterable[str] | pd.Series = ()) -> Plan:
    """The plan that takes Brevo from ``sent`` to ``desired`` (see the module docstring).

    ``deleted_ext_ids``: ids of persons deleted in Pipedrive (their contacts are ``person_deleted``);
    ``delete_behavior``: ``soft`` or ``hard`` (``options.delete_behavior``); ``events``: every
    event of this run (:mod:`.events`) and ``sent_event_ids`` those Brevo already accepted (the
    DAG keeps those ids beside the sync state, adding a batch's ids once Brevo took it).
    """
    if delete_behavior not in ("soft", "hard"):
        raise ValueError(f"delete_behavior must be 'soft' or 'hard', not {delete_behavior!r}")
    types = types_of(desired)
    names = list(types)
    want = conform(desired, types)
    have = conform(sent, types)

    # match by email, then the rest by ext_id (a person whose email changed is renamed, not recreated)
    in_have = records.isin(want["email"], have["email"])
    in_want = records.isin(have["email"], want["email"])
    new, gone = want[~in_have], have[~in_want]
    gone_by_ext = gone[gone["ext_id"].notna()].drop_duplicates("ext_id", keep=False)
    new_by_ext = new[new["ext_id"].notna()].drop_duplicates("ext_id", keep=False)
    renames = new_by_ext[["email", "ext_id"]].merge(gone_by_ext[["email", "ext_id"]], on="ext_id",
                                                     suffixes=("", "_old"))
    rename_of = pd.Series(renames["email"].to_numpy(), index=renames["email_old"].to_numpy(), dtype="string")

    # the sent state as it will be after renames: the old rows under their new email
    moved = have.assign(email=_renamed(have["email"], rename_of))
    previous = pd.Series(renames["email_old"].to_numpy(), index=renames["email"].to_numpy(), dtype="string")
    removed = gone[~records.isin(gone["email"], renames["email_old"])]

    # compare every contact present on both sides
    pairs = want.merge(moved, on="email", how="inner", suffixes=("", "_old"))
    changed = np.zeros((len(pairs), len(names) + 1), dtype=bool)
    for i, name in enumerate(names):
        changed[:, i] = ~fields.same(pairs[name], pairs[f"{name}_old"])
    changed[:, -1] = ~fields.same(pairs["ext_id"], pairs["ext_id_old"])
    was_renamed = records.isin(pairs["email"], previous.index)
    updating = changed.any(axis=1) | was_renamed
    lists_changed = ~fields.same(pairs[LISTS_COLUMN], pairs[f"{LISTS_COLUMN}_old"])

    updates = _update_rows(pairs[updating], changed[updating], names, previous)
    created = new[~records.isin(new["email"], renames["email"])]
    creates = _create_rows(created, names)
    upserts = pd.concat([creates, updates], ignore_index=True) if len(updates) else creates
    upserts = upserts.sort_values(["action", "email"], kind="stable").reset_index(drop=True)

    # memberships: compare only contacts whose lists differ, and new and removed ones
    deleted = {str(i) for i in deleted_ext_ids}
    removals = _removal_rows(removed, deleted, delete_behavior)
    unlisted = removed[(removals["action"] == "unlist").to_numpy()]
    touched = pairs[lists_changed]
    desired_pairs = pd.concat([lists.memberships(touched[["email", LISTS_COLUMN]]),
                               lists.memberships(created[["email", LISTS_COLUMN]])], ignore_index=True)
    old_lists = touched[["email", f"{LISTS_COLUMN}_old"]].rename(columns={f"{LISTS_COLUMN}_old": LISTS_COLUMN})
    sent_pairs = pd.concat([lists.memberships(old_lists), lists.memberships(unlisted[["email", LISTS_COLUMN]])],
                           ignore_index=True)
    list_adds = _minus(desired_pairs, sent_pairs)
    list_removes = _minus(sent_pairs, desired_pairs)

    unchanged = int((~updating & ~lists_changed).sum())
    pending = _pending_events(events, sent_event_ids)
    return Plan(upserts, list_adds, list_removes, removals, pending, tuple(names), types, unchanged)


def _renamed(emails: pd.Series, new_email: pd.Series) -> pd.Series:
    """Emails with the renamed ones replaced by their new address."""
    return emails.map(new_email).astype("string").fillna(emails).astype("string")


def _update_rows(pairs: pd.DataFrame, changed: np.ndarray, names: list[str], previous: pd.Series) -> pd.DataFrame:
    """Update rows: the key, the rename, the changed names and the values of the changed attributes."""
    out = _upsert_frame("update", pairs, _name_tuples(changed, [*names, EXT_ID_ATTRIBUTE]))
    out["previous_email"] = pairs["email"].map(previous).astype("string").array
    for i, name in enumerate(names):
        column = pairs[name].reset_index(drop=True)
        out[name] = column.where(pd.Series(changed[:, i]), None if column.dtype == object else pd.NA).astype(column.dtype)
    return out


def _create_rows(new: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Create rows: every attribute, and as ``changed`` the ones that have a value."""
    present = np.column_stack([new[n].notna().to_numpy() for n in [*names, "ext_id"]]).reshape(len(new), len(names) + 1)
    out = _upsert_frame("create", new, _name_tuples(present, [*names, EXT_ID_ATTRIBUTE]))
    for name in names:
        out[name] = new[name].reset_index(drop=True).astype(new[name].dtype)
    return out


def _upsert_frame(action: str, rows: pd.DataFrame, changed: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({
        "action": pd.Series([action] * len(rows), dtype="string"),
        "email": rows["email"].astype("string").array,
        "ext_id": rows["ext_id"].astype("string").array,
        "previous_email": pd.Series([pd.NA] * len(rows), dtype="string"),
        "changed": changed,
    })


def _name_tuples(flags: np.ndarray, labels: list[str]) -> np.ndarray:
    """Per row, the tuple of ``labels`` whose flag is set; built once per distinct combination
    (a row's flags read as a bit mask), not once per row."""
    codes = flags.astype(np.int64) @ (np.int64(1) << np.arange(len(labels), dtype=np.int64))
    as_tuple = {int(code): tuple(label for i, label in enumerate(labels) if int(code) >> i & 1)
                for code in np.unique(codes)}
    return pd.Series(codes, dtype="int64").map(as_tuple).astype("object").to_numpy()


def _removal_rows(removed: pd.DataFrame, deleted: set[str], delete_behavior: str) -> pd.DataFrame:
    person_deleted = records.isin(removed["ext_id"], pd.array(sorted(deleted), dtype="string"))
    action = np.where(person_deleted & (delete_behavior == "hard"), "delete", "unlist")
    return pd.DataFrame({
        "email": removed["email"].astype("string").array,
        "ext_id": removed["ext_id"].astype("string").array,
        "action": pd.Series(action, dtype="string"),
        "reason": pd.Series(np.where(person_deleted, "person_deleted", "not_synced"), dtype="string"),
    })


def _minus(left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
    """The (list_id, email) pairs of ``left`` that ``right`` lacks, sorted."""
    merged = left.merge(right.drop_duplicates(), on=["list_id", "email"], how="left", indicator=True)
    out = merged[merged["_merge"] == "left_only"][["list_id", "email"]].drop_duplicates()
    return out.sort_values(["list_id", "email"], kind="stable").reset_index(drop=True)


def _pending_events(events: pd.DataFrame | None, sent_event_ids: Iterable[str] | pd.Series) -> pd.DataFrame:
    if events is None or not len(events):
        return empty_events()
    done = pd.Index(pd.Series(list(sent_event_ids), dtype="string"))
    pending = events[~records.isin(events["event_id"].astype("string"), done)].drop_duplicates("event_id")
    return pending.reset_index(drop=True)


# ---------------------------------------------------------------------------------- apply_plan

def apply_plan(sent: pd.DataFrame | None, plan: Plan) -> pd.DataFrame:
    """The sync state after Brevo accepted ``plan`` (or the part of a plan a batch carried).

    Order: removals leave the state, renames move a row to its new email, updates set the changed
    attributes, creates are added, then list memberships change. The result has exactly the
    plan's attributes, conformed (:func:`conform`). Rows are found by position (pyarrow hashing),
    so applying a small plan to a large state costs little more than conforming the state.
    """
    types = dict(plan.types) or types_of(plan.upserts.drop(columns=list(UPSERT_COLUMNS), errors="ignore"))
    state = conform(sent, types)
    if len(plan.removals):
        state = state[~records.isin(state["email"], plan.removals["email"])].reset_index(drop=True)

    updates = plan.upserts[(plan.upserts["action"] == "update").to_numpy()].reset_index(drop=True)
    renamed = updates["previous_email"].notna().to_numpy()
    if renamed.any():
        at = records.positions(updates["previous_email"][renamed], state["email"])
        emails = state["email"].copy()
        emails.iloc[at[at >= 0]] = updates["email"][renamed].to_numpy()[at >= 0]
        state["email"] = emails
    if len(updates):
        at = records.positions(updates["email"], state["email"])
        found = at >= 0
        for name in [*types, EXT_ID_ATTRIBUTE]:
            column = "ext_id" if name == EXT_ID_ATTRIBUTE else name
            hit = _contains(updates["changed"], name) & found
            if column in updates and hit.any():
                values = state[column].copy()
                values.iloc[at[hit]] = updates[column][hit].to_numpy()
                state[column] = values

    creates = plan.upserts[(plan.upserts["action"] == "create").to_numpy()]
    if len(creates):
        fresh = conform(creates.drop(columns=["action", "previous_email", "changed"]), types)
        state = pd.concat([state[~records.isin(state["email"], fresh["email"])], fresh], ignore_index=True)

    state = _apply_memberships(state, plan.list_adds, plan.list_removes)
    if renamed.any() or len(creates):
        state = state.sort_values("email", kind="stable").reset_index(drop=True)
    return state


def _contains(changed: pd.Series, name: str) -> np.ndarray:
    """Per row, whether ``name`` is in the row's ``changed`` tuple (one test per distinct tuple)."""
    codes, distinct = pd.factorize(changed.map(lambda t: tuple(t) if t is not None else (), na_action="ignore"))
    found = np.array([name in combo for combo in distinct], dtype=bool)
    return found[codes] if len(found) else np.zeros(len(changed), dtype=bool)


def _apply_memberships(state: pd.DataFrame, adds: pd.DataFrame, removes: pd.DataFrame) -> pd.DataFrame:
    """``state`` with list memberships added and removed, recomputed for the touched emails only."""
    touched = pd.concat([adds["email"], removes["email"]]).astype("string").unique()
    affected = records.isin(state["email"], touched)
    if not affected.any():
        return state
    emails = state["email"][affected]
    after = pd.concat([_minus(lists.memberships(state[affected][["email", LISTS_COLUMN]]), removes), adds],
                      ignore_index=True)
    new_lists = lists.collect(after["email"], after["list_id"], pd.Index(emails))
    state = state.copy()
    state[LISTS_COLUMN] = state[LISTS_COLUMN].astype("object")
    state.loc[affected, LISTS_COLUMN] = new_lists.to_numpy()
    return state


def mirror_memberships(sent: pd.DataFrame | None, members: pd.DataFrame, mapped: Iterable[int],
                       types: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The sent state with the memberships of the ``mapped`` lists replaced by what Brevo holds.

    ``members`` (``list_id``, ``email``) are the members the DAG read from Brevo on a first run or
    a full refresh. A member the state does not know becomes a row without attributes, so the
    next diff either updates it (Pipedrive has the contact) or takes it out of the list (it does
    not): a membership made by hand that Pipedrive does not justify is removed. Memberships of
    other lists and attributes are kept as they are.
    """
    types = dict(types) if types is not None else (types_of(sent) if sent is not None else {})
    state = conform(sent, types)
    universe = sorted({int(i) for i in mapped})
    members = pd.DataFrame({"list_id": pd.to_numeric(members["list_id"]).astype("int64").to_numpy(),
                            "email": members["email"].astype("string").str.strip().str.lower().to_numpy()})
    members = members[members["list_id"].isin(universe).to_numpy()].drop_duplicates()
    newcomers = pd.Index(members["email"].unique()).difference(pd.Index(state["email"]))
    if len(newcomers):
        state = conform(pd.concat([state, pd.DataFrame({"email": pd.Series(newcomers, dtype="string")})],
                                  ignore_index=True), types)
    held = lists.memberships(state)
    held = held[held["list_id"].isin(universe).to_numpy()]
    return conform(_apply_memberships(state, _minus(members, held), _minus(held, members)), types)
