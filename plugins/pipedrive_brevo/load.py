"""Applying a run's plan to Brevo batch by batch, the sync state committed after each batch.

**Resumable by construction.** The loader does not replay a stored list of operations: every
phase diffs the run's desired state (``runs/<run_id>/desired/``) against the sync state as it is
*now* (:func:`.transform.plan.diff`), sends one batch, and applies the part Brevo accepted to the
state (:func:`.transform.plan.apply_plan`), written atomically. A task killed anywhere and retried
therefore re-plans from what Brevo is known to hold and sends only the rest: nothing twice,
nothing lost. (A batch in flight when the task died is sent again: imports and list changes are
upserts/sets, so that is harmless; events are never resent, see below.)

Phases, in order (each one a fresh diff):

1. **renames**: a contact whose email changed in Pipedrive is found by ext_id and renamed
   (``PUT /contacts/{ext_id}?identifierType=ext_id`` with ``attributes.EMAIL``), one call each;
2. **upserts** through ``POST /contacts/import`` in batches of ``batch_size``, only the changed
   attributes of each contact (a cleared one as empty text, ``emptyContactsAttributes``); each
   import joins the contacts to the import list (``lists.all_contacts``, which every contact is
   in); rows the import's reports reject are repaired with a single upsert (which drops an SMS
   Brevo refuses) or written to the rejects with Brevo's reason. A plan of at most
   :data:`SINGLE_UPSERTS_UP_TO` contacts goes one ``POST /contacts`` each instead: an import is
   followed by status polls of ``/processes``, which sit in Brevo's 100-an-hour "other" bucket
   that frequent small runs (the webhook DAG's) would exhaust, while single upserts use the
   contacts bucket (36,000 an hour) and are done when they answer;
3. **list adds**, then **list removes**, per list, ``batch_size`` emails a batch;
4. **removals**: ``unlist`` contacts leave the state once out of their lists; ``delete`` ones
   (``delete_behavior: hard``) are deleted in Brevo;
5. **events** from the outbox (:mod:`.sync_state`), each event id at most once: accepted ones and
   those Brevo *may* have recorded (a 5xx after the request went out) are marked sent; rejected
   and unsent ones stay queued, a rejected one at most :data:`MAX_EVENT_ATTEMPTS` times.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from collections.abc import Mapping as MappingType
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pipedrive_brevo import sync_state
from pipedrive_brevo.config import Mapping
from pipedrive_brevo.http import BadRequestError, NotFoundError
from pipedrive_brevo.planning import desired_path, rejects_path
from pipedrive_brevo.storage import DataLocation, safe
from pipedrive_brevo.transform import rejects
from pipedrive_brevo.transform.companies import changed_companies
from pipedrive_brevo.transform.plan import EXT_ID_ATTRIBUTE, Plan, apply_plan, conform, diff

log = logging.getLogger(__name__)

DEFAULT_BATCH = 5000
EVENTS_PER_CALL_GROUP = 1000  # events committed per group (the hook sends them 200 a call)
# Companies live in Brevo's "other" rate bucket: 100 requests an hour on the General tier. Every
# import that creates companies is followed by a scan for their ids (a page of 1,000 a call), so
# few large imports (the CSV may hold 250 MB; 50,000 rows are about 10 MB) keep 25,000 new
# companies at ~30 calls, where imports of 5,000 rows, each rescanning, took over a hundred.
COMPANIES_PER_IMPORT = 50_000
COMPANY_SCAN_PAGE = 1000
MAX_EVENT_ATTEMPTS = 3
SINGLE_UPSERTS_UP_TO = 20  # see phase 2 in the module docstring
LOAD_REJECT_REASON = "brevo_rejected"


class LoadIncomplete(RuntimeError):
    """Some batches could not be sent; what was accepted is committed, a retry sends the rest."""


@dataclass
class LoadCounts:
    """What the load did (cumulated over the attempts of one run's load task)."""

    created: int = 0
    updated: int = 0
    renamed: int = 0
    list_adds: int = 0
    list_removes: int = 0
    unlisted: int = 0
    deleted: int = 0
    events_sent: int = 0
    events_uncertain: int = 0
    events_requeued: int = 0
    companies_created: int = 0
    companies_updated: int = 0
    rejected_by_brevo: int = 0
    repaired: int = 0
    batches: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class _Run:
    """One run's load: the desired state, the committed state and the counts, kept in step on disk.

    ``state`` is always what ``state/brevo/contacts.parquet`` holds: :meth:`commit` changes both.
    """

    store: DataLocation
    run_id: str
    desired: pd.DataFrame
    types: dict[str, str]
    deleted_ext_ids: tuple[str, ...]
    delete_behavior: str
    counts: LoadCounts
    on_batch: Callable[[str, dict[str, int]], None] | None = None
    state: pd.DataFrame = field(init=False)
    plan_template: Plan = field(init=False)  # the run's first plan: its empty frames shape a partial plan
    desired_lists: pd.Series = field(init=False)  # email → the lists the contact must be in

    def __post_init__(self) -> None:
        self.desired = conform(self.desired, self.types)
        self.state = conform(sync_state.read_contacts(self.store), self.types)
        self.plan_template = self.plan()
        self.desired_lists = self.desired.set_index("email")["list_ids"]

    def plan(self) -> Plan:
        """What is still to do: the desired state diffed against the committed one, now."""
        return diff(self.desired, self.state, deleted_ext_ids=self.deleted_ext_ids,
                    delete_behavior=self.delete_behavior)

    def commit(self, kind: str, *, upserts: pd.DataFrame | None = None, list_adds: pd.DataFrame | None = None,
               list_removes: pd.DataFrame | None = None, removals: pd.DataFrame | None = None) -> None:
        """Apply the part of the plan Brevo accepted to the state and write it (and the counts)."""
        empty = self.plan_template
        part = Plan(upserts if upserts is not None else empty.upserts.iloc[0:0],
                    list_adds if list_adds is not None else empty.list_adds.iloc[0:0],
                    list_removes if list_removes is not None else empty.list_removes.iloc[0:0],
                    removals if removals is not None else empty.removals.iloc[0:0],
                    attributes=tuple(self.types), types=self.types)
        self.state = apply_plan(self.state, part)
        sync_state.write_contacts(self.store, self.state)
        self.counts.batches += 1
        self.save_counts()
        if self.on_batch is not None:
            self.on_batch(kind, part.summary())

    def reject(self, found: pd.DataFrame) -> None:
        """Write what Brevo refused to the run's rejects at once (a killed task keeps them)."""
        _append_rejects(self.store, self.run_id, found)

    def save_counts(self) -> None:
        self.store.write_json(progress_path(self.run_id), self.counts.as_dict())


def progress_path(run_id: str) -> str:
    return f"runs/{safe(run_id)}/load.json"


def load_run(hook: Any, store: DataLocation, mapping: Mapping, run_id: str, *, batch_size: int = DEFAULT_BATCH,
             on_batch: Callable[[str, dict[str, int]], None] | None = None,
             single_upserts_up_to: int = SINGLE_UPSERTS_UP_TO) -> dict[str, int]:
    """Converge Brevo to the run's desired state (see the module docstring); returns the counts.

    ``on_batch(kind, counts)`` is called after each committed batch (notifications, tests);
    ``single_upserts_up_to``: the largest plan sent contact by contact rather than imported.
    Raises :class:`LoadIncomplete` after committing everything that went through when a batch
    failed in a way a retry may fix; the rejects file of the run gets Brevo's refusals.
    """
    meta = store.read_json(desired_path(run_id, "meta.json"))
    if meta is None:
        raise FileNotFoundError(f"run {run_id!r} has no plan: run the plan step first")
    previous = store.read_json(progress_path(run_id), default={}) or {}
    run = _Run(store, run_id, store.read_parquet(desired_path(run_id, "contacts.parquet")), dict(meta["types"]),
               tuple(meta["deleted_ext_ids"]), mapping.options.delete_behavior,
               LoadCounts(**{k: int(v) for k, v in previous.items() if k in LoadCounts.__dataclass_fields__}),
               on_batch)
    failures: list[str] = []
    import_list = mapping.pipedrive.lists.all_contacts

    _renames(hook, run)
    failures += _upserts(hook, run, import_list, batch_size, single_upserts_up_to)
    _memberships(hook, run, batch_size)
    _removals(hook, run)
    if meta.get("company_org_attribute") and store.exists(desired_path(run_id, "companies.parquet")):
        failures += _companies(hook, run, store.read_parquet(desired_path(run_id, "companies.parquet")),
                               meta["company_org_attribute"], max(batch_size, COMPANIES_PER_IMPORT))
    failures += _events(hook, run)

    run.save_counts()
    if failures:
        raise LoadIncomplete("; ".join(failures))
    return run.counts.as_dict()


# --------------------------------------------------------------------------------- contacts

def _renames(hook: Any, run: _Run) -> None:
    plan = run.plan()
    renames = plan.upserts[plan.upserts["previous_email"].notna()]
    for index in range(len(renames)):
        row = renames.iloc[index:index + 1]
        record = row.iloc[0]
        attributes = {"EMAIL": record["email"], **_attributes(record, run.types, with_ext_id=False)}
        try:
            hook.update_contact(str(record["ext_id"]), identifier_type="ext_id", attributes=attributes)
        except NotFoundError:  # gone from Brevo meanwhile: create it under its new email
            hook.create_contact(email=str(record["email"]), ext_id=str(record["ext_id"]),
                                attributes={k: v for k, v in attributes.items() if k != "EMAIL"})
        run.counts.renamed += 1
        run.counts.updated += 1
        run.commit("rename", upserts=row)


def _upserts(hook: Any, run: _Run, import_list: int | None, batch_size: int, singles_up_to: int) -> list[str]:
    plan = run.plan()
    upserts = plan.upserts[plan.upserts["previous_email"].isna()].reset_index(drop=True)
    target = _import_lists(upserts["email"], run.desired_lists, import_list)
    if len(upserts) <= singles_up_to:  # a small plan: no import, so no status polls (module docstring)
        for index in range(len(upserts)):
            list_id = target.iloc[index]
            _single_upsert(hook, run, upserts.iloc[index:index + 1], list_ids=[] if pd.isna(list_id) else [int(list_id)],
                           list_adds=plan.list_adds)
        return []
    failures: list[str] = []
    singles = upserts[target.isna().to_numpy()]
    for list_id in sorted(int(v) for v in target.dropna().unique()):
        group = upserts[(target == list_id).fillna(False).to_numpy()].reset_index(drop=True)
        for start in range(0, len(group), batch_size):
            failures += _import_batch(hook, run, group.iloc[start:start + batch_size].reset_index(drop=True),
                                      list_id, plan.list_adds)
    for index in range(len(singles)):  # contacts in no mapped list at all: no import list to join
        _single_upsert(hook, run, singles.iloc[index:index + 1])
    return failures


def _import_lists(emails: pd.Series, lists_of: pd.Series, import_list: int | None) -> pd.Series:
    """The list each contact's import joins: ``all_contacts``, else the contact's first mapped list."""
    if import_list is not None:
        return pd.Series(import_list, index=emails.index, dtype="Int64")
    first = emails.map(lists_of).map(lambda ids: int(min(ids)) if ids is not None and len(ids) else None)
    return first.astype("Int64")


def _import_batch(hook: Any, run: _Run, batch: pd.DataFrame, list_id: int, list_adds: pd.DataFrame) -> list[str]:
    rows = [{"email": str(r["email"]), "attributes": _attributes(r, run.types, with_ext_id=True)}
            for _, r in batch.iterrows()]
    results = hook.import_contacts(rows, list_ids=[list_id], update_existing=True, empty_attributes=True)
    accepted = np.zeros(len(batch), dtype=bool)
    refused: dict[int, str] = {}
    failures: list[str] = []
    for result in results:
        if result.status != "completed":
            failures.append(f"Brevo import process {result.process_id} ended {result.status} "
                            f"({result.rows} contacts not sent)")
            continue
        accepted[result.first_index:result.first_index + result.rows] = True
        for rejection in result.rejected:
            if rejection.index is not None:
                accepted[rejection.index] = False
                refused[rejection.index] = rejection.reason
            else:
                run.reject(_reject("", "", rejection.reason, str(dict(rejection.row))))
    done = batch[accepted]
    emails = set(done["email"])
    joined = list_adds[(list_adds["list_id"] == list_id) & list_adds["email"].isin(emails)]
    _count_upserts(run, done)
    run.counts.list_adds += len(joined)  # the import put them in its list
    if len(done):
        run.commit("contacts", upserts=done, list_adds=joined)
    for index, reason in sorted(refused.items()):
        if reason == "invalid_emails":
            run.counts.rejected_by_brevo += 1
            run.reject(_reject(batch.at[index, "ext_id"], "email", reason, batch.at[index, "email"]))
            continue
        _single_upsert(hook, run, batch.iloc[index:index + 1], list_ids=[list_id], list_adds=list_adds,
                       import_reason=reason)
    return failures


def _single_upsert(hook: Any, run: _Run, row: pd.DataFrame, *, list_ids: Iterable[int] = (),
                   list_adds: pd.DataFrame | None = None,
                   import_reason: str | None = None) -> None:
    """One contact through ``POST /contacts`` (an upsert that drops an SMS Brevo refuses)."""
    record = row.iloc[0]
    attributes = _attributes(record, run.types, with_ext_id=False)
    try:
        write = hook.create_contact(email=str(record["email"]), ext_id=_text(record["ext_id"]),
                                    attributes=attributes, list_ids=list(list_ids), update_enabled=True)
    except BadRequestError as exc:
        run.counts.rejected_by_brevo += 1
        run.reject(_reject(record["ext_id"], "", import_reason or "bad_request", record["email"],
                                    exc.vendor_message or str(exc.status)))
        return
    if write.dropped_sms is not None:
        run.reject(_reject(record["ext_id"], "SMS", "sms_refused", write.dropped_sms,
                                    write.sms_problem or ""))
    if import_reason is not None:
        run.counts.repaired += 1
    _count_upserts(run, row)
    # The planned list adds the call made (listIds); a list the contact was already in is no add.
    ids = list(list_ids)
    if list_adds is not None and ids:
        joined = list_adds[(list_adds["email"] == record["email"]) & list_adds["list_id"].isin(ids)]
    else:
        joined = pd.DataFrame({"list_id": pd.Series([], dtype="int64"), "email": pd.Series([], dtype="string")})
    run.counts.list_adds += len(joined)
    run.commit("contacts", upserts=row, list_adds=joined)


def _count_upserts(run: _Run, rows: pd.DataFrame) -> None:
    run.counts.created += int((rows["action"] == "create").sum())
    run.counts.updated += int((rows["action"] == "update").sum())


def _attributes(record: pd.Series, types: MappingType[str, str], *, with_ext_id: bool) -> dict[str, Any]:
    """A plan row's changed attributes as Brevo takes them (a cleared one as empty text)."""
    changed = record["changed"] if record["changed"] is not None else ()
    out: dict[str, Any] = {}
    for name in changed:
        if name == EXT_ID_ATTRIBUTE:
            if with_ext_id and not _missing(record["ext_id"]):
                out[EXT_ID_ATTRIBUTE] = str(record["ext_id"])
            continue
        if name in types:
            out[name] = brevo_value(record[name])
    if with_ext_id and EXT_ID_ATTRIBUTE not in out and record["action"] == "update" and not _missing(record["ext_id"]):
        out[EXT_ID_ATTRIBUTE] = str(record["ext_id"])  # the import keys on it too; keep it stable
    return out


def brevo_value(value: Any) -> Any:
    """A typed contact value as Brevo's JSON takes it; null ("clear it") as empty text."""
    if isinstance(value, (tuple, list, np.ndarray)):
        return [str(v) for v in value]
    if _missing(value):
        return ""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float) and value != value


def _text(value: Any) -> str | None:
    return None if _missing(value) else str(value)


# ------------------------------------------------------------------------------ memberships

def _memberships(hook: Any, run: _Run, batch_size: int) -> None:
    for kind in ("list_adds", "list_removes"):
        plan = run.plan()
        frame = getattr(plan, kind)
        frame = frame[frame["email"].isin(run.state["email"])]  # a contact Brevo never accepted has no list
        send = hook.add_to_list if kind == "list_adds" else hook.remove_from_list
        for list_id, group in frame.groupby("list_id", sort=True):
            group = group.reset_index(drop=True)
            for start in range(0, len(group), batch_size):
                chunk = group.iloc[start:start + batch_size]
                send(int(list_id), emails=chunk["email"].tolist())
                setattr(run.counts, kind, getattr(run.counts, kind) + len(chunk))
                run.commit(kind, **{kind: chunk})


def _removals(hook: Any, run: _Run) -> None:
    removals = run.plan().removals
    unlisted = removals[removals["action"] == "unlist"]
    if len(unlisted):
        run.counts.unlisted += len(unlisted)
        run.commit("removals", removals=unlisted)
    for index in range(len(deletes := removals[removals["action"] == "delete"])):
        row = deletes.iloc[index:index + 1]
        hook.delete_contact(str(row.iloc[0]["email"]))
        run.counts.deleted += 1
        run.commit("deletes", removals=row)


# -------------------------------------------------------------------------------- companies

def _companies(hook: Any, run: _Run, desired: pd.DataFrame, org_attribute: str, batch_size: int) -> list[str]:
    """Send new and changed companies through the CSV import, linked to their contacts by email.

    A company has no ext_id: its Brevo id is found through ``org_attribute`` (the organization
    id) and kept in the sync state. Rows without a known id create companies, so before sending
    them the loader looks the ids up once more (a killed earlier attempt may have created them).
    """
    sent = sync_state.read_companies(run.store)
    todo = changed_companies(desired, sent)
    if not len(todo):
        return []
    known = _company_ids(sent)
    if todo["pipedrive_org_id"].map(known).isna().any():
        known.update(_scan_company_ids(hook, org_attribute))
    failures: list[str] = []
    for start in range(0, len(todo), batch_size):
        batch = todo.iloc[start:start + batch_size]
        rows = [_company_row(r, known.get(str(r["pipedrive_org_id"])), org_attribute)
                for r in batch.to_dict("records")]
        process = hook.import_companies(rows, link_entities=True, unlink_entities=True, unset_empty_attributes=True)
        if str(process.get("status")) != "completed":
            failures.append(f"Brevo company import {process.get('id')} ended {process.get('status')}")
            continue
        new = batch["pipedrive_org_id"].map(known).isna()
        if new.any():
            known.update(_scan_company_ids(hook, org_attribute))
        run.counts.companies_created += int(new.sum())
        run.counts.companies_updated += int((~new).sum())
        accepted = batch.assign(brevo_id=batch["pipedrive_org_id"].astype(str).map(known).astype("string"))
        refused = accepted[accepted["brevo_id"].isna()]
        if len(refused):
            # The import completed without making them (Brevo skips a row it cannot create). Kept
            # in the state without an id, they are not sent again (and the hourly "other" budget
            # not spent on rescans) until they change; a change looks the id up before sending.
            run.counts.rejected_by_brevo += len(refused)
            run.reject(rejects.concat([_reject(r["pipedrive_org_id"], "name", "company_not_created", r["name"],
                                               entity="organization") for r in refused.to_dict("records")]))
            run.counts.companies_created -= len(refused)
        sent = accepted if sent is None else pd.concat(
            [sent[~sent["pipedrive_org_id"].isin(accepted["pipedrive_org_id"])], accepted], ignore_index=True)
        sync_state.write_companies(run.store, sent)
        run.save_counts()
        if run.on_batch is not None:
            run.on_batch("companies", {"companies": len(accepted)})
    return failures


def _company_ids(sent: pd.DataFrame | None) -> dict[str, str]:
    if sent is None or "brevo_id" not in sent:
        return {}
    known = sent.dropna(subset=["brevo_id"])
    return dict(zip(known["pipedrive_org_id"].astype(str), known["brevo_id"].astype(str), strict=True))


def _scan_company_ids(hook: Any, org_attribute: str) -> dict[str, str]:
    """Organization id → Brevo company id, for every company that carries one."""
    found: dict[str, str] = {}
    for page in hook.iter_companies(limit=COMPANY_SCAN_PAGE):
        for company in page:
            org = (company.get("attributes") or {}).get(org_attribute)
            if org not in (None, ""):
                found[str(org).removesuffix(".0")] = str(company["id"])
    return found


def _company_row(record: MappingType[str, Any], brevo_id: str | None, org_attribute: str) -> dict[str, Any]:
    linked = record.get("linked_emails")
    row: dict[str, Any] = {"company_id": brevo_id or "", org_attribute: str(record["pipedrive_org_id"])}
    for column in ("name", "domain", "industry", "number_of_employees", "address"):
        value = brevo_value(record.get(column))
        row[column] = value
    row["associated_contact"] = "|".join(str(e) for e in (linked if linked is not None else ()))
    return row


# ----------------------------------------------------------------------------------- events

def _events(hook: Any, run: _Run) -> list[str]:
    outbox = sync_state.read_outbox(run.store)
    sent = sync_state.read_sent_event_ids(run.store)
    outbox = outbox[~outbox["event_id"].isin(sent)].reset_index(drop=True)
    failures: list[str] = []
    for start in range(0, len(outbox), EVENTS_PER_CALL_GROUP):
        group = outbox.iloc[start:start + EVENTS_PER_CALL_GROUP].reset_index(drop=True)
        result = hook.send_events([brevo_event(r) for r in group.to_dict("records")])
        done = [group.at[i, "event_id"] for i in sorted([*result.accepted, *result.uncertain])]
        sync_state.record_sent_events(run.store, done)
        run.counts.events_sent += len(result.accepted)
        run.counts.events_uncertain += len(result.uncertain)
        if result.uncertain:
            log.warning("%d events may or may not have reached Brevo (%s); they are not sent again",
                        len(result.uncertain), result.error)
        if result.rejected:
            _requeue(run, group, {r.index: r.message for r in result.rejected})
        run.save_counts()
        if run.on_batch is not None:
            run.on_batch("events", {"events": len(result.accepted)})
        if result.error is not None and not result.uncertain:
            failures.append(f"events not sent: {result.error}")
            break
    return failures


def _requeue(run: _Run, group: pd.DataFrame, messages: dict[int, str]) -> None:
    """Refused events stay queued for the next run, until they have been refused too often."""
    refused = group.loc[sorted(messages), "event_id"]
    outbox = sync_state.read_outbox(run.store)
    hit = outbox["event_id"].isin(refused)
    outbox.loc[hit, "attempts"] = outbox.loc[hit, "attempts"].astype("int64") + 1
    dead = hit & (outbox["attempts"] >= MAX_EVENT_ATTEMPTS)
    for index, message in messages.items():
        event_id = group.at[index, "event_id"]
        if bool(dead[outbox["event_id"] == event_id].any()):
            run.reject(_reject(event_id, "event", "event_refused", group.at[index, "event_name"], message,
                                        entity="event"))
    run.counts.events_requeued += int((hit & ~dead).sum())
    sync_state.write_outbox(run.store, outbox[~dead])


def brevo_event(row: MappingType[str, Any]) -> dict[str, Any]:
    """An outbox row as Brevo's ``/events`` body: name, date, contact identifiers, properties."""
    import json

    identifiers = {k: str(v) for k, v in (("email_id", row.get("email")), ("ext_id", row.get("ext_id")))
                   if not _missing(v)}
    event: dict[str, Any] = {"event_name": str(row["event_name"]), "identifiers": identifiers,
                             "event_properties": json.loads(row["properties"]) if row.get("properties") else {}}
    if not _missing(row.get("event_date")):
        event["event_date"] = str(row["event_date"])
    return event


# ---------------------------------------------------------------------------------- rejects

def _reject(record_id: Any, field_name: str, kind: str, value: Any, detail: Any = "", *,
            entity: str = "person") -> pd.DataFrame:
    """One row of the rejects shape for something Brevo refused (``reason`` = brevo_rejected)."""
    return rejects.concat([pd.DataFrame({"entity": [entity], "id": [record_id], "field": [field_name],
                                         "reason": [LOAD_REJECT_REASON], "value": [value],
                                         "detail": [f"{kind}: {detail}" if detail else kind]})])


def _append_rejects(store: DataLocation, run_id: str, found: pd.DataFrame) -> None:
    path = rejects_path(run_id)
    existing = store.read_parquet(path) if store.exists(path) else rejects.empty()
    store.write_parquet(path, rejects.concat([existing, found]).drop_duplicates())

