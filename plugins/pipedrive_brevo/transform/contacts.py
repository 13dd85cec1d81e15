"""The contacts Brevo should hold: Pipedrive persons turned into the desired state (CONTRACT §4).

:func:`build_contacts` applies the person mapping to a frame of persons (and the deals, leads,
organizations and users it refers to) and returns a :class:`ContactBuild`:

``contacts`` (the desired state, one row per Brevo contact, sorted by email)

==============  ==========  =======================================================================
column          dtype       meaning
==============  ==========  =======================================================================
``email``       string      the identity: primary (else first) email, trimmed, lower-cased, valid
``ext_id``      string      the id of the winning Pipedrive person (the contact's ``EXT_ID``)
one per attr    by type     every mapped Brevo attribute (``FIRSTNAME``, ``SMS``, ``LTV`` ...), typed
                            as :mod:`.fields` says; null means "no value"
``list_ids``    object      sorted tuple of the mapped Brevo list ids the contact must be in
==============  ==========  =======================================================================

The same shape is the sync state ("what Brevo was last sent"), which :mod:`.plan` diffs against.

``persons`` (what became of every input person; the run summary counts it)

===============  ========  ========================================================================
``person_id``    Int64     the Pipedrive person id
``outcome``      string    ``sent`` (its own contact), ``merged`` (into the contact of another
                           person with the same email), ``rejected`` or ``deleted`` (in Pipedrive)
``email``        string    the contact's email (sent and merged), else NA
``ext_id``       string    the contact's ext_id, i.e. the winning person's id (sent and merged)
===============  ========  ========================================================================

``rejects``: see :mod:`.rejects`.

The rules, in the order they apply:

1. Deleted persons (``is_deleted``, v1 ``active_flag: false``) are not contacts.
2. Identity (:mod:`.identity`): no usable email → ``no_email``; a bad one → ``invalid_email``.
3. Persons sharing an email are one contact: its attributes come from the most recently updated
   person (ties: the lowest id), which is also its ``ext_id``; metrics and lists are taken over
   all of them; the others are ``duplicate_email`` rejects naming the winner in ``detail``.
4. Attributes of the winner, typed (:mod:`.fields`); a value that cannot be typed is left out and
   reported per field. ``phone`` goes to E.164 (``invalid_phone`` when it cannot), and an ``SMS``
   number shared by several contacts stays with the most recently updated one (``shared_phone``).
5. Computed fields over the deals of all the contact's persons (:mod:`.metrics`), 0 when none.
6. Lists (:mod:`.lists`).

With ``options.create_missing_attributes: false``, an attribute Brevo lacks is not carried at all
and written once to the rejects (``missing_attribute``), rather than silently dropped by Brevo.

Everything is column-wise pandas; the per-row steps are reading the nested ``emails``/``phones``/
``custom_fields`` values, and the email and phone checks, each cached per distinct value.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipedrive_brevo.config import Mapping
from pipedrive_brevo.transform import identity, lists, metrics, records, rejects
from pipedrive_brevo.transform.fields import AttributeSpec, type_values

KEY_COLUMNS: tuple[str, ...] = ("email", "ext_id")
LISTS_COLUMN = "list_ids"
SMS_ATTRIBUTE = "SMS"
OUTCOMES: tuple[str, ...] = ("sent", "merged", "rejected", "deleted")


@dataclass(frozen=True)
class ContactBuild:
    """The result of :func:`build_contacts` (see the module docstring for the columns)."""

    contacts: pd.DataFrame
    persons: pd.DataFrame
    rejects: pd.DataFrame
    specs: tuple[AttributeSpec, ...]

    def contact_of(self) -> pd.Series:
        """Person id → contact email, for every person that is (part of) a contact."""
        linked = self.persons[self.persons["email"].notna()]
        return pd.Series(linked["email"].to_numpy(), index=linked["person_id"].to_numpy(), dtype="string")

    def counts(self) -> dict[str, int]:
        """How many persons ended in each outcome, and how many contacts there are."""
        found = self.persons["outcome"].value_counts()
        return {**{o: int(found.get(o, 0)) for o in OUTCOMES}, "contacts": len(self.contacts)}


def build_contacts(mapping: Mapping, specs: Sequence[AttributeSpec], persons: pd.DataFrame, *,
                   deals: pd.DataFrame | None = None, leads: pd.DataFrame | None = None,
                   organizations: pd.DataFrame | None = None,
                   users: pd.DataFrame | None = None) -> ContactBuild:
    """The desired Brevo contacts for these persons (see the module docstring for the rules).

    ``specs`` come from :func:`.fields.attribute_specs` (once per run). The other frames are
    optional: without ``deals`` every count is 0, without ``organizations`` every ``org_id.*``
    attribute is empty, and so on; each is one row per API record, as ``pd.DataFrame(records)``.
    """
    specs, missing = _usable(mapping, specs)
    persons = _one_per_id(persons)
    person_id = records.ids(records.column(persons, "id"))
    deleted = records.is_deleted(persons).to_numpy()
    update_time = records.timestamps(records.column(persons, "update_time"))

    # 2. identity
    raw_email = identity.primary_values(identity.person_lists(persons, "emails", "email"))
    email, problem = identity.clean_emails(raw_email)
    alive = ~deleted
    rejected = alive & email.isna().to_numpy()

    # 3. one contact per email: the winner is the most recently updated person, ties the lowest id
    keep = identity.keep_newest(email.where(alive), update_time, person_id).to_numpy()
    candidates = alive & email.notna().to_numpy()
    winner = candidates & keep
    merged = candidates & ~keep
    winners = persons[winner]
    order = email[winner].reset_index(drop=True).sort_values().index.to_numpy()
    winners = winners.iloc[order]
    contact_email = email[winner].iloc[order].reset_index(drop=True)
    winner_id = person_id[winner].iloc[order].reset_index(drop=True)
    contact_ids = pd.RangeIndex(len(winners))
    code_by_email = pd.Series(contact_ids, index=contact_email.to_numpy())
    contact_of = pd.Series(email[candidates].map(code_by_email).to_numpy(), index=person_id[candidates].to_numpy())

    frame = pd.DataFrame({"email": contact_email.astype("string"),
                          "ext_id": winner_id.astype("string")})
    problems: list[pd.DataFrame] = [
        rejects.make("person", person_id[rejected & (problem == "no_email").to_numpy()], "no_email", field="email"),
        rejects.make("person", person_id[rejected & (problem == "invalid_email").to_numpy()], "invalid_email",
                     field="email", values=raw_email[rejected & (problem == "invalid_email").to_numpy()]),
        rejects.make("person", person_id[merged], "duplicate_email", field="email", values=email[merged],
                     detail=email[merged].map(pd.Series(winner_id.to_numpy(), index=contact_email.to_numpy()))),
    ]

    # 4.-5. attributes of the winners, metrics over every person of a contact
    live = metrics.live_deals(deals)
    needs_metrics = any(s.source.kind == "computed" for s in specs)
    deal_figures, deal_problems = (metrics.deal_metrics(live, contact_of, mapping.options.currency) if needs_metrics
                                   else (pd.DataFrame(), rejects.empty()))
    problems.append(deal_problems)
    context = _Context(winners.reset_index(drop=True), winner_id, update_time[winner].iloc[order].reset_index(drop=True),
                       deal_figures.reindex(contact_ids, fill_value=0) if needs_metrics else None,
                       organizations, users, mapping.options.default_phone_region)
    for spec in specs:
        values, spec_problems = _attribute(spec, context)
        frame[spec.attribute] = values
        problems.append(spec_problems)

    # 6. lists
    frame[LISTS_COLUMN] = lists.contact_lists(mapping, contact_ids, contact_of, live, leads).to_numpy()

    outcome = np.select([deleted, rejected, merged, winner], ["deleted", "rejected", "merged", "sent"], "rejected")
    contact_ext = email.map(pd.Series(winner_id.astype("string").array, index=contact_email.to_numpy()))
    outcomes = pd.DataFrame({
        "person_id": person_id.array,
        "outcome": pd.Series(outcome, dtype="string"),
        "email": email.where(candidates).astype("string").array,
        "ext_id": contact_ext.where(candidates).astype("string").array,
    })
    problems.append(missing)
    return ContactBuild(frame, outcomes, rejects.concat(problems), tuple(specs))


def affected_persons(changed_ids: Iterable[int], keys: pd.DataFrame,
                     previous_keys: pd.DataFrame | None = None) -> pd.Index:
    """The persons an incremental run must rebuild when ``changed_ids`` changed.

    ``keys`` (and ``previous_keys``, from before the change) are :func:`.identity.identity_keys`
    (person id → ``email``, ``sms``). A contact is decided by every person with its email (the
    winner, metrics, lists) and its SMS number by every person with that number, so the set is
    closed under both, before and after the change: a person whose email changed leaves one
    contact and joins another, and both are rebuilt. Building contacts from exactly these persons
    (with their deals and leads) and diffing them against :func:`.plan.scope` of the state plans
    the same changes as a full rebuild would. Changed deals and leads count through their
    ``person_id`` (old and new): the caller adds those persons to ``changed_ids``.
    """
    ids = pd.Index(pd.array(list(changed_ids), dtype="Int64")).dropna().unique()
    for _ in range(100):  # a handful of rounds in practice: chains of shared emails and numbers are short
        known = [keys.reindex(ids)] + ([previous_keys.reindex(ids)] if previous_keys is not None else [])
        rows = pd.concat(known)
        sharing = (records.isin(keys["email"].astype("string"), rows["email"].dropna().astype("string"))
                   | records.isin(keys["sms"].astype("string"), rows["sms"].dropna().astype("string")))
        grown = ids.union(pd.Index(keys.index[sharing], dtype="Int64"))
        if len(grown) == len(ids):
            break
        ids = grown
    return ids


def _usable(mapping: Mapping, specs: Sequence[AttributeSpec]) -> tuple[list[AttributeSpec], pd.DataFrame]:
    """The specs to carry; without create_missing_attributes, the ones Brevo lacks are rejected."""
    if mapping.options.create_missing_attributes:
        return list(specs), rejects.empty()
    lacking = [s for s in specs if s.exists is False]
    kept = [s for s in specs if s.exists is not False]
    return kept, rejects.make("attribute", [s.attribute for s in lacking], "missing_attribute",
                              field="", values=[s.source.text for s in lacking],
                              detail="options.create_missing_attributes is false")


def _one_per_id(persons: pd.DataFrame) -> pd.DataFrame:
    """One row per person id (the latest version), whatever the caller concatenated."""
    persons = persons.reset_index(drop=True)
    if "id" not in persons or not persons["id"].duplicated().any():
        return persons
    order = records.timestamps(records.column(persons, "update_time")).sort_values(kind="stable", na_position="first")
    return persons.loc[order.index].drop_duplicates("id", keep="last").sort_index().reset_index(drop=True)


@dataclass(frozen=True)
class _Context:
    """What attribute values are read from: the winners (one row per contact, contact order)."""

    winners: pd.DataFrame
    winner_id: pd.Series
    update_time: pd.Series
    metrics: pd.DataFrame | None
    organizations: pd.DataFrame | None
    users: pd.DataFrame | None
    region: str | None


def _attribute(spec: AttributeSpec, ctx: _Context) -> tuple[pd.Series, pd.DataFrame]:
    """One attribute's column for every contact, and the rejects of values left out."""
    source = spec.source
    found: list[pd.DataFrame] = []
    if source.kind == "field" and source.text == "phone":
        raw = identity.primary_values(identity.person_lists(ctx.winners, "phones", "phone"))
        sms, invalid = identity.clean_phones(raw, ctx.region)
        found.append(rejects.make("person", ctx.winner_id[invalid.to_numpy()], "invalid_phone", field=source.text,
                                  values=raw[invalid.to_numpy()]))
        if spec.attribute == SMS_ATTRIBUTE:
            keep = identity.keep_newest(sms, ctx.update_time, ctx.winner_id)
            keeper = identity.first_ids(sms, ctx.winner_id, keep)
            shared = (~keep).to_numpy()
            found.append(rejects.make("person", ctx.winner_id[shared], "shared_phone", field=source.text,
                                      values=sms[shared], detail=keeper[shared]))
            sms = sms.where(keep)
        raw = sms
    else:
        raw = _raw_values(spec, ctx)
    typed = type_values(raw, spec)
    bad = typed.problems.notna().to_numpy()
    for reason in typed.problems[bad].unique():
        rows = (typed.problems == reason).fillna(False).to_numpy()
        found.append(rejects.make("person", ctx.winner_id[rows], str(reason), field=source.text, values=raw[rows],
                                  detail=spec.attribute))
    return typed.values.astype(spec.dtype).reset_index(drop=True), rejects.concat(found)


def _raw_values(spec: AttributeSpec, ctx: _Context) -> pd.Series:
    """The untyped Pipedrive value of ``spec``'s source for every contact."""
    source, winners = spec.source, ctx.winners
    if source.kind == "computed":
        assert ctx.metrics is not None
        return ctx.metrics[source.text].reset_index(drop=True)
    if source.kind == "custom_field":
        return _custom_values(winners, spec)
    head = source.path[0]
    if source.kind == "field":
        if head in ("org_id", "owner_id", "id"):
            return records.ids(records.column(winners, head))
        return records.column(winners, head)
    # paths
    if head == "postal_address":
        return records.nested(records.column(winners, "postal_address"), source.path[1])
    related = ctx.organizations if head == "org_id" else ctx.users
    link = records.ids(records.column(winners, head))
    if related is None or not len(related):
        return pd.Series(None, index=winners.index, dtype="object")
    # a deleted organization is gone; a deactivated user (v1 active_flag false) still owns the person
    gone = records.is_deleted(related) if head == "org_id" else records.flag(related, "is_deleted")
    related = related[~gone.to_numpy()]
    related = related.assign(_id=records.ids(records.column(related, "id"))).dropna(subset=["_id"])
    related = related.drop_duplicates("_id", keep="last").set_index("_id")
    if source.path[1] == "address":
        values = records.nested(records.column(related, "address"), source.path[2])
    elif source.path[1] in ("id", "owner_id"):
        values = records.ids(records.column(related, source.path[1]))
    else:
        values = records.column(related, source.path[1])
    return link.map(values).astype("object").where(link.notna(), None)


def _custom_values(winners: pd.DataFrame, spec: AttributeSpec) -> pd.Series:
    """A custom field's raw values: v2 ``custom_fields[key]``, else a v1 root ``key`` column."""
    key = _field_key(spec)
    holder = records.column(winners, "custom_fields")
    values = pd.Series([d.get(key) if isinstance(d, dict) else None for d in holder], index=winners.index,
                       dtype="object")
    if key in winners:
        values = values.where(values.notna(), winners[key])
    return values


def _field_key(spec: AttributeSpec) -> str:
    """The custom field key of a spec (set by :func:`.fields.attribute_specs` from the account)."""
    return spec.field_key or spec.source.ref or ""
