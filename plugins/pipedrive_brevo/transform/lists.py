"""Brevo list memberships: which mapped lists each contact must be in (CONTRACT §4, lists).

- ``lists.all_contacts``: every synced contact.
- ``deal_stage_mapping``: the list of each of the contact's deals' current states: an open deal
  by its stage, a won or lost deal by its status (``won``/``lost`` keys). Deleted deals do not
  count; archived ones do, as for the metrics.
- ``options.leads_list``: persons with a lead that is not archived (nor deleted).

Memberships are taken over every person of a contact (persons sharing an email are one contact).
A contact's lists are a sorted tuple of list ids; only *mapped* lists (:func:`mapped_lists`)
ever appear, because lists the mapping does not name are never touched.

The set of lists each contact must *leave* is the difference between what Brevo was last sent
and this, computed by :mod:`.plan`, whose :func:`.plan.mirror_memberships` makes "what Brevo
holds" the truth on a first run or a full refresh, so memberships made by hand that Pipedrive
does not justify are removed too.

Vectorised with bit masks: each mapped list is one bit, a contact's memberships are the sum of
its distinct bits, and the few distinct masks are turned into tuples once each, so a million
contacts cost no per-contact Python.
"""

from __future__ import annotations

import pandas as pd

from pipedrive_brevo.config import Mapping
from pipedrive_brevo.transform import records


def mapped_lists(mapping: Mapping) -> tuple[int, ...]:
    """Every Brevo list the mapping names, sorted: the only lists the sync adds to or removes from."""
    return tuple(sorted(mapping.list_ids()))


def contact_lists(mapping: Mapping, contacts: pd.Index, contact_of: pd.Series, deals: pd.DataFrame,
                  leads: pd.DataFrame | None = None) -> pd.Series:
    """The sorted tuple of list ids each contact must be in, indexed like ``contacts``.

    ``contact_of`` maps person id → contact; ``deals`` are live deals (:func:`.metrics.live_deals`);
    ``leads`` are v1 lead records (``person_id``, ``is_archived``).
    """
    universe = mapped_lists(mapping)
    parts: list[pd.DataFrame] = []

    all_contacts = mapping.pipedrive.lists.all_contacts
    if all_contacts is not None:
        parts.append(pd.DataFrame({"contact": contacts, "list_id": all_contacts}))

    stages = mapping.deal_stage_mapping
    if len(deals) and (stages.stages or stages.won is not None or stages.lost is not None):
        contact = deals["person_id"].map(contact_of)
        by_stage = {s.stage_id: s.list_id for s in stages.stages}
        by_status = {status: stages.list_for_status(status) for status in ("won", "lost")}
        list_id = deals["stage_id"].map(by_stage).where(deals["status"] == "open",
                                                        deals["status"].map(by_status))
        parts.append(pd.DataFrame({"contact": contact, "list_id": list_id}))

    leads_list = mapping.options.leads_list
    if leads_list is not None and leads is not None and len(leads):
        active = ~(records.flag(leads, "is_archived") | records.is_deleted(leads))
        person = records.ids(records.column(leads, "person_id"))[active.to_numpy()]
        parts.append(pd.DataFrame({"contact": person.map(contact_of), "list_id": leads_list}))

    if not parts:
        return pd.Series([()] * len(contacts), index=contacts, dtype="object")
    pairs = pd.concat(parts, ignore_index=True).dropna()
    return collect(pairs["contact"], pairs["list_id"], contacts, universe)


def collect(keys: pd.Series, list_ids: pd.Series, index: pd.Index, universe: tuple[int, ...] | None = None) -> pd.Series:
    """The sorted tuple of the list ids paired with each key of ``index`` (``()`` for none).

    Each list is one bit: a key's memberships are the sum of its distinct bits, and each distinct
    mask becomes a tuple once, so no Python runs per key. Past 62 lists (a bit per list no longer
    fits an int64) it falls back to grouping, which is slower but exact.
    """
    pairs = pd.DataFrame({"key": keys.to_numpy(), "list_id": list_ids.to_numpy()}).dropna()
    pairs["list_id"] = pairs["list_id"].astype("int64")
    pairs = pairs[records.isin(pairs["key"], index)]
    if universe is None:
        universe = tuple(sorted(int(i) for i in pairs["list_id"].unique()))
    if len(universe) > 62:
        grouped = (pairs.drop_duplicates().sort_values("list_id").groupby("key")["list_id"]
                   .agg(lambda ids: tuple(int(i) for i in ids)))
        return pd.Series(records.lookup(pd.Series(index), grouped, ()), index=index, dtype="object")
    bit = pd.Series([1 << position for position in range(len(universe))], index=list(universe), dtype="int64")
    pairs["bit"] = pairs["list_id"].map(bit)
    masks = pairs.dropna().drop_duplicates(["key", "bit"]).groupby("key")["bit"].sum()
    masks = masks.reindex(index, fill_value=0).astype("int64")
    return masks_to_tuples(masks, universe)


def masks_to_tuples(masks: pd.Series, universe: tuple[int, ...]) -> pd.Series:
    """Bit masks over ``universe`` as sorted tuples of list ids, one conversion per distinct mask."""
    as_tuple = {int(mask): tuple(list_id for position, list_id in enumerate(universe) if int(mask) >> position & 1)
                for mask in masks.unique()}
    return pd.Series(masks.to_numpy(), index=masks.index).map(as_tuple).astype("object")


def memberships(frame: pd.DataFrame) -> pd.DataFrame:
    """A contact frame's lists as ``(list_id, email)`` pairs, one row per membership."""
    if not len(frame):
        return pd.DataFrame({"list_id": pd.Series(dtype="int64"), "email": pd.Series(dtype="string")})
    pairs = frame[["email", "list_ids"]].explode("list_ids").dropna(subset=["list_ids"])
    return pd.DataFrame({"list_id": pairs["list_ids"].astype("int64").to_numpy(),
                         "email": pairs["email"].astype("string").array})
