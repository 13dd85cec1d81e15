"""Brevo → Pipedrive, the pure part: which person fields a Brevo change should write, and why not.

The reverse direction must never start a loop (issue 8), so every candidate value passes these
checks, in this order, and the first that holds names the plan row's ``reason``:

1. ``unknown_value``: the source is not known for this contact (``hard_bounced`` is only known from
   a ``hard_bounce`` webhook; a contact read by the scheduled scan carries no bounce flag) → skipped.
2. ``empty_in_brevo``: Brevo holds no value (never written: see :func:`to_pipedrive`);
   ``not_written``: the value maps to "leave Pipedrive as it is" (``email_blacklisted: false`` on
   ``marketing_status``: re-subscribing is a consent decision Brevo cannot make for the CRM).
3. ``sent_by_sync``: the field is mapped both ways and Brevo holds exactly what the forward sync
   last sent (``state/brevo/contacts.parquet``): Brevo did not change it, we did.
4. ``unchanged``: Pipedrive already holds the value.
5. conflict, for a field mapped both ways (the Brevo attribute is also written by ``person_mapping``
   from this very Pipedrive field) when *both* sides changed it since the last sync (Pipedrive's
   value is no longer what the sync last sent):

   * ``pipedrive_wins`` (default): Pipedrive keeps its value (reason ``pipedrive_wins``); the next
     ``pipedrive_to_brevo`` run sends it to Brevo. A field only Brevo changed is written back.
   * ``last_modified``: the newer side wins: the contact's ``modifiedAt`` against the person's
     ``update_time`` (reason ``pipedrive_newer`` when Pipedrive's is newer or equal).

Everything else is a ``write``, with the reason ``brevo_changed`` (or ``brevo_newer`` when
``last_modified`` decided a conflict for Brevo). Values are converted to what the Pipedrive field takes
(:func:`to_pipedrive`); a value that cannot be (an enum option the field lacks) is a reject.

Nothing here does I/O: :mod:`pipedrive_brevo.reverse_apply` reads Brevo, the snapshot and the
sync state, calls :func:`plan_changes`, and writes what it returns.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd

from pipedrive_brevo.config import (
    CustomField,
    MappingError,
    Problem,
    ReverseMappingEntry,
    format_key_path,
    resolve_custom_fields,
)
from pipedrive_brevo.config import (
    Mapping as SyncMapping,
)
from pipedrive_brevo.transform import rejects as reject_rows

PLAN_COLUMNS: tuple[str, ...] = (
    "person_id", "contact_id", "email", "source", "target", "brevo_value", "value", "current", "action", "reason")
REJECT_COLUMNS: tuple[str, ...] = reject_rows.COLUMNS  # the same rejects files as the forward sync

#: Why a reverse value was not written, and why a change or event was refused (README quotes these).
SKIP_REASONS: dict[str, str] = {
    "unknown_value": "the source is not known for this contact (hard_bounced comes from hard_bounce webhooks only)",
    "empty_in_brevo": "Brevo holds no value; an empty value never blanks a Pipedrive field",
    "not_written": "the value means 'leave Pipedrive as it is' (email_blacklisted false on marketing_status)",
    "sent_by_sync": "mapped both ways and Brevo holds what pipedrive_to_brevo last sent: not a Brevo-side change",
    "unchanged": "Pipedrive already holds the value",
    "pipedrive_wins": "both sides changed a field mapped both ways; options.reverse.conflict is pipedrive_wins",
    "pipedrive_newer": "both sides changed it and the person's update_time is not older than Brevo's modifiedAt",
}
#: Why a value is written.
WRITE_REASONS: dict[str, str] = {
    "brevo_changed": "Brevo holds a new value (a field mapped one way, or one only Brevo changed)",
    "brevo_newer": "both sides changed it; last_modified and Brevo's modifiedAt is newer",
}
REJECT_REASONS: dict[str, str] = {
    "unknown_person": "no Pipedrive person has the contact's EXT_ID or email",
    "unknown_option": "the Brevo value is not the label of an option of the Pipedrive enum or set field",
    "invalid_value": "the Brevo value cannot be read as the Pipedrive field's type",
    "refused_by_pipedrive": "Pipedrive answered the PATCH with an error (detail holds its message)",
    "unknown_event": "a stored Brevo webhook whose event this product does not know; kept, not applied",
    "invalid_event": "a stored Brevo webhook without an email to find its contact by",
}

#: Brevo's marketing webhook events (snake_case in payloads) and what the reverse sync does with them.
REFRESH_EVENTS = frozenset({"contact_updated", "list_addition", "unsubscribed", "hard_bounce"})
IGNORED_EVENTS = frozenset({"contact_deleted", "spam", "opened", "click", "soft_bounce", "delivered",
                            "list_unsubscribed"})
#: Events that carry ``api_key_name`` (Brevo changelog 2026-11-01).
AUTHORED_EVENTS = frozenset({"contact_updated", "list_addition"})

_YES = {"yes", "true", "1", "y", "on"}
_NO = {"no", "false", "0", "n", "off"}
_NUMBER_TYPES = {"double", "monetary", "int"}
_TEXT_TYPES = {"varchar", "varchar_auto", "text", "phone", "autocomplete", "address", "time"}


# -------------------------------------------------------------------------------------- targets

@dataclass(frozen=True)
class ReverseTarget:
    """A ``reverse_mapping`` line tied to the account: where its value goes in a PATCH body.

    ``kind`` is ``builtin`` (a top-level person field), ``custom`` (``custom_fields[key]``) or
    ``label`` (one id in ``label_ids``, added when the status is true, removed when false).
    ``forward_attribute`` is the Brevo attribute ``person_mapping`` fills from this same field with
    this same attribute: the field is then mapped both ways (conflict rules, loop checks).
    """

    entry: ReverseMappingEntry
    kind: str
    field: str  # builtin field name, custom field key, or "label_ids"
    field_type: str = "varchar"
    custom: CustomField | None = None
    label_id: int | None = None
    forward_attribute: str | None = None

    @property
    def name(self) -> str:
        return self.entry.target.text


def resolve_targets(mapping: SyncMapping, person_fields: Sequence[Mapping[str, Any]]) -> tuple[ReverseTarget, ...]:
    """Tie every ``reverse_mapping`` line to the account's person fields (custom fields by key or
    name, labels by name); a reference the account lacks is a :class:`MappingError`."""
    if not mapping.reverse_mapping:
        return ()
    resolved = resolve_custom_fields(mapping, list(person_fields))
    labels = _label_options(person_fields)
    forward = {(e.source.text, e.attribute) for e in mapping.person_mapping}
    problems: list[Problem] = []
    targets: list[ReverseTarget] = []
    for entry in mapping.reverse_mapping:
        both = entry.source if (entry.target.text, entry.source) in forward else None
        if entry.target.kind == "custom_field":
            custom = resolved.field_for(entry.target)
            targets.append(ReverseTarget(entry, "custom", custom.key, custom.field_type, custom, None, both))
        elif entry.target.path[0] == "label_ids" and len(entry.target.path) == 2:
            wanted = _norm(entry.target.path[1])
            found = [i for i, label in labels.items() if _norm(label) == wanted]
            if not found:
                valid = ", ".join(f'"{v}"' for v in sorted(labels.values())) or "(none)"
                problems.append(Problem(format_key_path(("reverse_mapping", entry.source)), entry.line,
                                        f"the account has no person label {entry.target.path[1]!r}; its labels: {valid}"))
                continue
            targets.append(ReverseTarget(entry, "label", "label_ids", "set", None, found[0], None))
        else:
            field_type = "date" if entry.target.text == "birthday" else "varchar"
            targets.append(ReverseTarget(entry, "builtin", entry.target.text, field_type, None, None, both))
    if problems:
        raise MappingError(mapping.file or "(mapping)", problems)
    return tuple(targets)


def _label_options(person_fields: Sequence[Mapping[str, Any]]) -> dict[int, str]:
    for definition in person_fields:
        if definition.get("field_code") == "label_ids":
            return {int(o["id"]): str(o.get("label", "")) for o in definition.get("options") or []
                    if isinstance(o, Mapping) and str(o.get("id", "")).lstrip("-").isdigit()}
    return {}


def _norm(text: Any) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(text).casefold()).strip("_")


# ----------------------------------------------------------------------------------- the values

class ValueRejected(ValueError):
    """A Brevo value the Pipedrive field cannot take; ``reason`` is a :data:`REJECT_REASONS` key."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


UNKNOWN = object()
LEAVE = object()


def brevo_value(contact: Mapping[str, Any], entry: ReverseMappingEntry) -> Any:
    """The source's value on a contact in ``GET /contacts`` shape; ``UNKNOWN`` when not known."""
    if entry.source_kind == "status":
        key = {"email_blacklisted": "emailBlacklisted", "sms_blacklisted": "smsBlacklisted",
               "hard_bounced": "hardBounced"}[entry.source]
        value = contact.get(key)
        return bool(value) if value is not None else UNKNOWN
    attributes = contact.get("attributes") or {}
    return attributes.get(entry.source)


def to_pipedrive(value: Any, target: ReverseTarget) -> Any:
    """What the Pipedrive field takes for a Brevo value (``LEAVE``: write nothing).

    * ``marketing_status`` from a status: true → ``"unsubscribed"``, false → leave it.
    * a label from a status: true/false → the label is in / not in ``label_ids``.
    * an enum custom field: the option whose label is the value (a boolean: the option labelled
      Yes/True or No/False); a set field: the options of every label; number fields a number;
      date fields ``YYYY-MM-DD``; text fields the text (booleans as ``"true"``/``"false"``).
    * an empty Brevo value is never written: Brevo leaves empty attributes out of a contact, so
      "never set in Brevo" and "cleared in Brevo" look alike, and blanking CRM data on a guess is
      worse than keeping it.
    """
    if target.kind == "label":
        return bool(value)
    if target.field == "marketing_status":
        if isinstance(value, bool):
            return "unsubscribed" if value else LEAVE
        return str(value) if not _blank(value) else LEAVE
    if _blank(value):
        return LEAVE
    kind = target.field_type
    if kind in ("enum", "set"):
        options = target.custom.options if target.custom else ()
        labels = ([("yes" if value else "no")] if isinstance(value, bool)
                  else [str(v) for v in (value if isinstance(value, (list, tuple)) else str(value).split(","))]
                  if kind == "set" else [str(value)])
        ids = []
        for label in labels:
            wanted = _norm(label)
            synonyms = _YES if wanted in _YES else _NO if wanted in _NO else {wanted}
            match = next((o.id for o in options if _norm(o.label) in synonyms), None)
            if match is None:
                raise ValueRejected("unknown_option", f"no option labelled {label.strip()!r}; options: "
                                    + ", ".join(repr(o.label) for o in options))
            ids.append(match)
        return ids if kind == "set" else ids[0]
    if kind in _NUMBER_TYPES:
        if isinstance(value, bool):
            return 1 if value else 0
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueRejected("invalid_value", f"{value!r} is not a number") from None
        return int(number) if kind == "int" or number.is_integer() else number
    if kind == "date":
        text = value.isoformat() if isinstance(value, (date, datetime)) else str(value)
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}.*", text):
            raise ValueRejected("invalid_value", f"{value!r} is not a date (YYYY-MM-DD)")
        return text[:10]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def current_value(person: Mapping[str, Any], target: ReverseTarget) -> Any:
    """The person's value of the target (a label: whether the person has it); ``UNKNOWN`` when
    the record does not hold the field (``marketing_status`` is opt-in on reads)."""
    if target.kind == "label":
        return target.label_id in {int(i) for i in person.get("label_ids") or []}
    if target.kind == "custom":
        value = (person.get("custom_fields") or {}).get(target.field)
        if isinstance(value, Mapping) and "id" in value:  # include_option_labels shape
            value = value["id"]
        if isinstance(value, list):
            value = [v["id"] if isinstance(v, Mapping) else v for v in value]
        return value
    return person.get(target.field, UNKNOWN)


def same(a: Any, b: Any) -> bool:
    """Equal as values: nulls alike, numbers by value, sets in any order, the rest as text."""
    if _blank(a) or _blank(b):
        return _blank(a) and _blank(b)
    if isinstance(a, bool) or isinstance(b, bool):
        return _truthy(a) == _truthy(b)
    if _is_listish(a) or _is_listish(b):
        return sorted(map(str, _as_list(a))) == sorted(map(str, _as_list(b)))
    try:
        return math.isclose(float(a), float(b))
    except (TypeError, ValueError):
        return str(a).strip() == str(b).strip()


def _blank(value: Any) -> bool:
    if value is None or value is pd.NA or value is UNKNOWN:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, str) and not value.strip():
        return True
    return _is_listish(value) and len(_as_list(value)) == 0


def _is_listish(value: Any) -> bool:
    return isinstance(value, (list, tuple, set, frozenset)) or (hasattr(value, "tolist") and
                                                               not isinstance(value, (str, bytes)) and
                                                               getattr(value, "ndim", 0) == 1)


def _as_list(value: Any) -> list[Any]:
    if hasattr(value, "tolist"):
        return list(value.tolist())
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [value]


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().casefold() in _YES
    return bool(value)


def _plain(value: Any) -> str | None:
    """A value as JSON text for the plan (None for unknown)."""
    if value is UNKNOWN or value is LEAVE:
        return None
    if hasattr(value, "tolist"):
        value = value.tolist()
    if value is pd.NA:
        value = None
    return json.dumps(value, default=str, sort_keys=True)


def parse_time(text: Any) -> pd.Timestamp | None:
    if _blank(text):
        return None
    try:
        moment = pd.Timestamp(str(text))
    except ValueError:
        return None
    return moment.tz_localize("UTC") if moment.tzinfo is None else moment.tz_convert("UTC")


# ------------------------------------------------------------------------------------ contacts

def latest_by_id(contacts: Iterable[Mapping[str, Any]]) -> dict[int, dict[str, Any]]:
    """Contacts read in overlapping windows (or from a scan and a webhook), one per id: the one
    with the latest ``modifiedAt`` (ties: the later read)."""
    out: dict[int, dict[str, Any]] = {}
    for contact in contacts:
        cid = int(contact["id"])
        old = out.get(cid)
        if old is None or str(contact.get("modifiedAt") or "") >= str(old.get("modifiedAt") or ""):
            merged = dict(contact)
            if old is not None and old.get("hardBounced") and "hardBounced" not in merged:
                merged["hardBounced"] = True  # a bounce learned from a webhook stays known
            out[cid] = merged
    return out


def unseen(contacts: Mapping[int, Mapping[str, Any]], seen: Mapping[int, str]) -> dict[int, dict[str, Any]]:
    """The contacts whose ``modifiedAt`` is not the one already applied (the window's overlap)."""
    return {cid: dict(c) for cid, c in contacts.items()
            if c.get("hardBounced") or seen.get(cid) != str(c.get("modifiedAt") or "")}


@dataclass(frozen=True)
class EventReading:
    """What the stored Brevo webhooks ask for: contacts to re-read (by email), flags they carry,
    and the events skipped (our own key's), ignored (nothing mapped) or rejected (unknown)."""

    refresh: dict[str, dict[str, bool]]  # email -> flags learned from the events (hardBounced, emailBlacklisted)
    own: tuple[str, ...]  # keys of events made by our own API key
    ignored: tuple[str, ...]
    rejects: pd.DataFrame


def read_events(events: Iterable[tuple[str, Mapping[str, Any]]], api_key_name: str) -> EventReading:
    """Classify stored webhook bodies (``(key, body)`` pairs), oldest first."""
    refresh: dict[str, dict[str, bool]] = {}
    own: list[str] = []
    ignored: list[str] = []
    rejects: list[dict[str, str]] = []
    for key, body in events:
        kind = str(body.get("event") or "") if isinstance(body, Mapping) else ""
        if kind in AUTHORED_EVENTS and str(body.get("api_key_name") or "") == api_key_name:
            own.append(key)
            continue
        if kind in IGNORED_EVENTS:
            ignored.append(key)
            continue
        if kind not in REFRESH_EVENTS:
            rejects.append({"entity": "webhook", "id": key, "field": "event", "reason": "unknown_event",
                            "value": kind, "detail": "known: " + ", ".join(sorted(REFRESH_EVENTS | IGNORED_EVENTS))})
            continue
        email = str(body.get("email") or "").strip().lower()
        if "@" not in email:
            rejects.append({"entity": "webhook", "id": key, "field": "email", "reason": "invalid_event",
                            "value": str(body.get("email") or ""), "detail": kind})
            continue
        flags = refresh.setdefault(email, {})
        if kind == "hard_bounce":
            flags["hardBounced"] = True
        if kind == "unsubscribed":
            flags["emailBlacklisted"] = True
    return EventReading(refresh, tuple(own), tuple(ignored), rejects_frame(rejects))


# ------------------------------------------------------------------------------------- the plan

@dataclass(frozen=True)
class ReversePlan:
    """One row per (contact, mapped field) considered, and the rejects."""

    rows: pd.DataFrame
    rejects: pd.DataFrame

    def writes(self) -> pd.DataFrame:
        return self.rows[self.rows["action"] == "write"]

    def summary(self) -> dict[str, Any]:
        rows = self.rows
        return {"considered": len(rows), "writes": int((rows["action"] == "write").sum()),
                "persons_to_write": int(rows.loc[rows["action"] == "write", "person_id"].nunique()),
                "skipped": {str(k): int(v) for k, v in rows.loc[rows["action"] == "skip", "reason"]
                            .value_counts().sort_index().items()},
                "rejects": {str(k): int(v) for k, v in self.rejects["reason"].value_counts().sort_index().items()}}


def person_index(persons: Iterable[Mapping[str, Any]]) -> tuple[dict[int, dict[str, Any]], dict[str, int]]:
    """Persons by id, and live persons by primary (else first) email, lower-cased (the latest
    updated wins an email several persons share, as in the forward sync)."""
    by_id: dict[int, dict[str, Any]] = {}
    best: dict[str, tuple[str, int]] = {}  # email -> (update_time, -id) of the person keeping it
    for person in persons:
        pid = int(person["id"])
        by_id[pid] = dict(person)
        if person.get("is_deleted"):
            continue
        emails = [e for e in person.get("emails") or [] if isinstance(e, Mapping) and e.get("value")]
        chosen = next((e for e in emails if e.get("primary")), emails[0] if emails else None)
        if chosen is None:
            continue
        email = str(chosen["value"]).strip().lower()
        rank = (str(person.get("update_time") or ""), -pid)
        if email not in best or rank > best[email]:
            best[email] = rank
    return by_id, {email: -rank[1] for email, rank in best.items()}


def person_of(contact: Mapping[str, Any], by_id: Mapping[int, Any], by_email: Mapping[str, int]) -> int | None:
    """The Pipedrive person a contact is: its EXT_ID (set by the forward sync), else its email."""
    ext = (contact.get("attributes") or {}).get("EXT_ID") or contact.get("ext_id")
    if ext is not None and str(ext).strip().isdigit():
        return int(str(ext).strip())
    email = str(contact.get("email") or "").strip().lower()
    return by_email.get(email)


def plan_changes(contacts: Mapping[int, Mapping[str, Any]], targets: Sequence[ReverseTarget],
                 persons: Mapping[int, Mapping[str, Any]], person_ids: Mapping[int, int | None],
                 sent: Mapping[str, Mapping[str, Any]], *, conflict: str = "pipedrive_wins") -> ReversePlan:
    """Decide each mapped field of each changed contact (see the module docstring).

    ``person_ids``: contact id → person id (None: no person); ``persons``: the person records
    (snapshot, or fetched when the snapshot lacks a field); ``sent``: the forward sync state's
    rows by email (what Brevo was last sent).
    """
    if conflict not in ("pipedrive_wins", "last_modified"):
        raise ValueError(f"conflict must be pipedrive_wins or last_modified, not {conflict!r}")
    rows: list[dict[str, Any]] = []
    rejects: list[dict[str, str]] = []
    for cid in sorted(contacts):
        contact = contacts[cid]
        email = str(contact.get("email") or "").strip().lower()
        pid = person_ids.get(cid)
        person = persons.get(pid) if pid is not None else None
        if person is None or person.get("is_deleted"):
            rejects.append({"entity": "contact", "id": str(cid), "field": "", "reason": "unknown_person",
                            "value": email, "detail": f"EXT_ID {pid}" if pid is not None else "no EXT_ID"})
            continue
        last_sent = sent.get(email)
        for target in targets:
            row = {"person_id": pid, "contact_id": cid, "email": email, "source": target.entry.source,
                   "target": target.name}
            raw = brevo_value(contact, target.entry)
            row["brevo_value"] = _plain(raw)
            if raw is UNKNOWN:
                rows.append({**row, "value": None, "current": None, "action": "skip", "reason": "unknown_value"})
                continue
            try:
                value = to_pipedrive(raw, target)
            except ValueRejected as exc:
                rejects.append({"entity": "person", "id": str(pid), "field": target.name, "reason": exc.reason,
                                "value": _plain(raw) or "", "detail": str(exc)})
                continue
            current = current_value(person, target)
            row.update(value=_plain(value), current=_plain(current))
            reason = _decide(raw, value, current, target, contact, person, last_sent, conflict)
            rows.append({**row, "action": "write" if reason in WRITE_REASONS else "skip", "reason": reason})
    frame = pd.DataFrame(rows, columns=list(PLAN_COLUMNS))
    frame = frame.astype({"person_id": "Int64", "contact_id": "Int64", **{c: "string" for c in PLAN_COLUMNS
                                                                          if c not in ("person_id", "contact_id")}})
    return ReversePlan(frame, rejects_frame(rejects))


def _decide(raw: Any, value: Any, current: Any, target: ReverseTarget, contact: Mapping[str, Any],
            person: Mapping[str, Any], last_sent: Mapping[str, Any] | None, conflict: str) -> str:
    if value is LEAVE:
        return "empty_in_brevo" if _blank(raw) else "not_written"
    attribute = target.forward_attribute
    both_ways = attribute is not None
    if both_ways and last_sent is not None and attribute in last_sent and same(raw, last_sent[attribute]):
        return "sent_by_sync"
    if current is not UNKNOWN and same(value, current):
        return "unchanged"
    if not both_ways:
        return "brevo_changed"
    # both ways, Brevo changed it: did Pipedrive change it too since the last sync?
    if last_sent is not None and attribute in last_sent:
        try:
            base = to_pipedrive(last_sent[attribute], target)
        except ValueRejected:
            base = UNKNOWN
        if base is not LEAVE and base is not UNKNOWN and current is not UNKNOWN and same(base, current):
            return "brevo_changed"  # only Brevo changed it
    if conflict == "pipedrive_wins":
        return "pipedrive_wins"
    brevo_time, pipedrive_time = parse_time(contact.get("modifiedAt")), parse_time(person.get("update_time"))
    if brevo_time is not None and (pipedrive_time is None or brevo_time > pipedrive_time):
        return "brevo_newer"
    return "pipedrive_newer"


def patch_bodies(plan: ReversePlan, targets: Sequence[ReverseTarget],
                 persons: Mapping[int, Mapping[str, Any]]) -> dict[int, dict[str, Any]]:
    """One ``PATCH /api/v2/persons/{id}`` body per person with something to write.

    Labels are a set on the person: the body carries the whole new ``label_ids``.
    """
    by_name = {t.name: t for t in targets}
    bodies: dict[int, dict[str, Any]] = {}
    for row in plan.writes().itertuples(index=False):
        pid = int(row.person_id)
        target = by_name[row.target]
        value = json.loads(row.value) if row.value is not None and row.value is not pd.NA else None
        body = bodies.setdefault(pid, {})
        if target.kind == "custom":
            body.setdefault("custom_fields", {})[target.field] = value
        elif target.kind == "label":
            labels = body.get("label_ids")
            if labels is None:
                labels = [int(i) for i in persons[pid].get("label_ids") or []]
            labels = [i for i in labels if i != target.label_id] + ([target.label_id] if value else [])
            body["label_ids"] = sorted(set(labels))
        else:
            body[target.field] = value
    return bodies


def rejects_frame(rows: list[dict[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(REJECT_COLUMNS)).astype("string")
