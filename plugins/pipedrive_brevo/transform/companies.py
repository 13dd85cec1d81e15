"""Pipedrive organizations as Brevo companies, with the contacts linked to them.

A Brevo company has no ``ext_id`` (research/brevo-api.md §5), so the Pipedrive organization id
travels as the company attribute ``pipedrive_org_id``: it is how the loader finds the company
again (its own map org id → Brevo company id, kept in the sync state).

Columns of the companies frame (one row per organization that is not deleted, sorted by id),
named as Brevo's company attributes are (``GET /crm/attributes/companies`` internal names):

=========================  =========  ==============================================================
``pipedrive_org_id``       string     the Pipedrive organization id
``name``                   string     the organization's name (required by Brevo)
``domain``                 string     the website's host, lower-case, without scheme, ``www.`` or path
``industry``               string     the industry option's label (v2 ``industry`` is an option id)
``number_of_employees``    Float64    ``employee_count``
``address``                string     the formatted address (``address.value``)
``linked_emails``          object     sorted tuple of the emails of the synced contacts whose
                                      (winning) person belongs to the organization
=========================  =========  ==============================================================

An organization without a name cannot be a Brevo company: it is a ``no_name`` reject.
:func:`changed_companies` keeps only the rows that differ from what was last sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from pipedrive_brevo.transform import fields, records, rejects

COMPANY_COLUMNS: tuple[str, ...] = (
    "pipedrive_org_id", "name", "domain", "industry", "number_of_employees", "address", "linked_emails",
)
#: How each compared column is typed (None: a tuple column), for :func:`changed_companies`.
COLUMN_TYPES: dict[str, str | None] = {
    "name": "text", "domain": "text", "industry": "text", "number_of_employees": "float", "address": "text",
    "linked_emails": None,
}


def build_companies(organizations: pd.DataFrame | None, persons: pd.DataFrame, links: pd.DataFrame, *,
                    organization_fields: Iterable[Mapping[str, Any]] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(companies, rejects)`` for the organizations that are not deleted.

    ``persons`` are the person records (for ``org_id``); ``links`` is the ``persons`` frame of a
    :class:`.contacts.ContactBuild` (``person_id``, ``outcome``, ``email``): a company is linked to
    the contacts whose winning person (outcome ``sent``) is in it.
    """
    if organizations is None or not len(organizations):
        return _empty(), rejects.empty()
    orgs = organizations[~records.is_deleted(organizations).to_numpy()]
    org_id = records.ids(records.column(orgs, "id"))
    name = records.column(orgs, "name").astype("string").str.strip()
    nameless = (name.isna() | (name == "")).to_numpy()

    industry = _labels(records.column(orgs, "industry"), _options(organization_fields, "industry"))

    frame = pd.DataFrame({
        "pipedrive_org_id": org_id.astype("string").array,
        "name": name.array,
        "domain": domains(records.column(orgs, "website")).array,
        "industry": industry.array,
        "number_of_employees": fields.canonical(
            pd.to_numeric(records.column(orgs, "employee_count"), errors="coerce"), "float").array,
        "address": records.nested(records.column(orgs, "address"), "value").astype("string").array,
    })
    frame["linked_emails"] = _linked(org_id, persons, links).to_numpy()
    problems = rejects.make("organization", org_id[nameless], "no_name", field="name")
    frame = frame[~nameless].sort_values("pipedrive_org_id", key=lambda s: s.astype("Int64"), kind="stable")
    return frame.reset_index(drop=True), problems


def domains(websites: pd.Series) -> pd.Series:
    """``https://www.Example.com/about`` → ``example.com``; NA when there is no host."""
    text = websites.astype("string").str.strip().str.lower()
    host = (text.str.replace(r"^[a-z][a-z0-9+.-]*://", "", regex=True)
            .str.replace(r"^www\.", "", regex=True)
            .str.replace(r"[/?#:].*$", "", regex=True))
    return host.where(host.str.contains(".", regex=False).fillna(False)).astype("string")


def _labels(values: pd.Series, lookup: dict[Any, str]) -> pd.Series:
    """Enum option ids as their labels (a value that is no known id is kept as its text)."""
    keys = values.map(lambda v: v.get("id") if isinstance(v, dict) else v, na_action="ignore")
    labels = keys.map(lookup) if lookup else pd.Series(pd.NA, index=keys.index, dtype="object")
    text = keys.map(lambda v: str(int(v)) if isinstance(v, float) and v.is_integer() else str(v), na_action="ignore")
    return labels.where(labels.notna(), text).astype("string")


def _options(definitions: Iterable[Mapping[str, Any]] | None, code: str) -> dict[Any, str]:
    for definition in definitions or ():
        if (definition.get("field_code") or definition.get("key")) == code:
            lookup: dict[Any, str] = {}
            for option in definition.get("options") or ():
                lookup[option.get("id")] = str(option.get("label"))
                lookup[str(option.get("id"))] = str(option.get("label"))
            return lookup
    return {}


def _linked(org_id: pd.Series, persons: pd.DataFrame, links: pd.DataFrame) -> pd.Series:
    winners = links[links["outcome"] == "sent"][["person_id", "email"]]
    person_org = pd.DataFrame({"person_id": records.ids(records.column(persons, "id")),
                               "org": records.ids(records.column(persons, "org_id"))})
    joined = winners.merge(person_org.drop_duplicates("person_id"), on="person_id").dropna(subset=["org"])
    joined = joined.assign(email=joined["email"].astype(object)).sort_values("email")
    grouped = joined.groupby("org")["email"].agg(tuple)
    return pd.Series(records.lookup(org_id, grouped, ()), index=org_id.index, dtype="object")


def changed_companies(desired: pd.DataFrame, sent: pd.DataFrame | None) -> pd.DataFrame:
    """The companies that are new or differ in any column from the ones last sent."""
    if sent is None or not len(sent):
        return desired.reset_index(drop=True)
    before = sent.drop_duplicates("pipedrive_org_id", keep="last").set_index("pipedrive_org_id")
    known = desired["pipedrive_org_id"].isin(before.index).to_numpy()
    old = before.reindex(desired["pipedrive_org_id"])
    differs = ~known
    for column in COLUMN_TYPES:
        kind = COLUMN_TYPES[column]
        a = fields.canonical(desired[column].reset_index(drop=True), kind)
        b = fields.canonical(old[column].reset_index(drop=True), kind) if column in old else pd.Series(
            [None] * len(a), dtype="object")
        differs |= ~fields.same(a, b)
    return desired[differs].reset_index(drop=True)


def _empty() -> pd.DataFrame:
    return pd.DataFrame({
        "pipedrive_org_id": pd.Series(dtype="string"), "name": pd.Series(dtype="string"),
        "domain": pd.Series(dtype="string"), "industry": pd.Series(dtype="string"),
        "number_of_employees": pd.Series(dtype="Float64"), "address": pd.Series(dtype="string"),
        "linked_emails": pd.Series(dtype="object"),
    })
