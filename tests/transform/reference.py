"""A row-by-row reading of the contact rules (CONTRACT §4), in plain Python over API dicts.

Two uses: a test oracle (the vectorised :func:`pipedrive_brevo.transform.contacts.build_contacts`
must give the same contacts for a generated account) and the baseline the benchmark measures the
vectorised build against ("at least 20× faster than a row-by-row implementation of the same
rules"). It is written the way the rules read, one person and one deal at a time, calling the
email validator and phonenumbers for each person, with no pandas and no caching.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from pipedrive_brevo.config import Mapping
from pipedrive_brevo.transform.fields import AttributeSpec

_EXTENSION_WORDS = re.compile(
    r"\s*(?:,|;)?\s*(?:durchwahl|dw\.?|poste|interno|int\.|doorkiesnummer|toestel|anknytning|wewn\.?)\s*(\d+)\s*$",
    re.IGNORECASE)
_TRUE = {"true", "yes", "y", "1", "on", "ja", "oui", "si", "sí"}
_FALSE = {"false", "no", "n", "0", "off", "nein", "non"}
_EPOCH = datetime(1, 1, 1, tzinfo=UTC)


def build_rows(mapping: Mapping, specs: Sequence[AttributeSpec], persons: Iterable[dict], *,
               deals: Iterable[dict] = (), leads: Iterable[dict] = (), organizations: Iterable[dict] = (),
               users: Iterable[dict] = ()) -> list[dict[str, Any]]:
    """The desired contacts, one dict per contact, sorted by email (same keys as the frame)."""
    orgs = {o["id"]: o for o in organizations if not o.get("is_deleted")}
    people = {u["id"]: u for u in users}
    groups: dict[str, list[dict]] = {}
    for person in persons:
        if person.get("is_deleted") or person.get("active_flag") is False:
            continue
        raw = _primary(person.get("emails") or person.get("email"))
        email = str(raw).strip().lower() if raw is not None else ""
        if email and _valid_email(email):
            groups.setdefault(email, []).append(person)
    email_of = {p["id"]: email for email, members in groups.items() for p in members}
    winners = {email: min(members, key=lambda p: (-_time(p.get("update_time")).timestamp(), p["id"]))
               for email, members in groups.items()}

    lists = mapping.pipedrive.lists
    stage_lists = {s.stage_id: s.list_id for s in mapping.deal_stage_mapping.stages}
    figures = {email: {"won": 0, "lost": 0, "open": 0, "ltv": 0.0,
                       "lists": {lists.all_contacts} if lists.all_contacts is not None else set()}
               for email in groups}
    for d in deals:
        email = email_of.get(_id(d.get("person_id")))
        status = str(d.get("status") or "").lower()
        if email is None or d.get("is_deleted") or status == "deleted":
            continue
        f = figures[email]
        if status in ("open", "won", "lost"):
            f[status] += 1
        if status == "won":
            rate = mapping.options.currency.rate(str(d.get("currency") or "").strip().upper())
            if rate is not None:
                f["ltv"] += float(d.get("value") or 0) * rate
        target = stage_lists.get(_id(d.get("stage_id"))) if status == "open" else \
            mapping.deal_stage_mapping.list_for_status(status)
        if target is not None:
            f["lists"].add(target)
    for lead in leads:
        email = email_of.get(_id(lead.get("person_id")))
        if email is not None and not lead.get("is_archived") and not lead.get("is_deleted") \
                and mapping.options.leads_list is not None:
            figures[email]["lists"].add(mapping.options.leads_list)

    contacts = []
    for email in sorted(groups):
        winner = winners[email]
        row: dict[str, Any] = {"email": email, "ext_id": str(winner["id"])}
        for spec in specs:
            row[spec.attribute] = _value(spec, winner, figures[email], orgs, people, mapping)
        row["list_ids"] = tuple(sorted(figures[email]["lists"]))
        contacts.append(row)
    if any(s.attribute == "SMS" for s in specs):       # one number, one contact: the newest keeps it
        holders: dict[str, dict] = {}
        for row in sorted(contacts, key=lambda r: (-_time(winners[r["email"]].get("update_time")).timestamp(),
                                                   int(r["ext_id"]))):
            if row["SMS"] is not None:
                if row["SMS"] in holders:
                    row["SMS"] = None
                else:
                    holders[row["SMS"]] = row
    return contacts


def _value(spec: AttributeSpec, person: dict, figures: dict, orgs: dict, users: dict, mapping: Mapping) -> Any:
    source = spec.source
    if source.kind == "computed":
        return {"won_deals_count": figures["won"], "lost_deals_count": figures["lost"],
                "open_deals_count": figures["open"], "closed_deals_count": figures["won"] + figures["lost"],
                "total_revenue": round(figures["ltv"], 2)}[source.text] * 1.0
    if source.kind == "custom_field":
        holder = person.get("custom_fields") if isinstance(person.get("custom_fields"), dict) else {}
        raw = holder.get(spec.field_key)
        if raw is None:
            raw = person.get(spec.field_key)
    elif source.text == "phone":
        raw = _phone(_primary(person.get("phones") or person.get("phone")), mapping.options.default_phone_region)
    elif source.kind == "field":
        raw = _id(person.get(source.text)) if source.text in ("org_id", "owner_id", "id") else person.get(source.text)
    elif source.path[0] == "postal_address":
        address = person.get("postal_address")
        raw = address.get(source.path[1]) if isinstance(address, dict) else None
    else:
        related = (orgs if source.path[0] == "org_id" else users).get(_id(person.get(source.path[0])))
        if related is None:
            raw = None
        elif source.path[1] == "address":
            address = related.get("address")
            raw = address.get(source.path[2]) if isinstance(address, dict) else None
        else:
            raw = related.get(source.path[1])
    return _typed(raw, spec)


def _typed(raw: Any, spec: AttributeSpec) -> Any:
    labels = {str(o.id): o.label for o in spec.options}
    value = raw
    if spec.pipedrive_type == "enum" and raw is not None:
        key = raw.get("id") if isinstance(raw, dict) else raw
        value = labels.get(str(key)) if spec.options else key
    elif spec.pipedrive_type == "set" and raw is not None:
        items = raw.split(",") if isinstance(raw, str) else raw if isinstance(raw, list) else [raw]
        keys = [str(i.get("id") if isinstance(i, dict) else i).strip() for i in items if str(i).strip()]
        order = [o.label for o in spec.options]
        found = {labels[k] for k in keys if k in labels} if spec.options else set(keys)
        value = tuple(sorted(found, key=order.index)) if spec.options else tuple(dict.fromkeys(keys))
        value = value or None
    elif isinstance(raw, dict):
        value = raw.get("value") or raw.get("formatted_address")
    if value is None:
        return None
    kind = spec.brevo_type
    if kind in ("text", "category"):
        text = ", ".join(value) if isinstance(value, tuple) else _text(value)
        return text.strip() or None
    if kind == "float":
        try:
            return float(str(value).strip().replace(",", ".")) if not isinstance(value, bool) else float(value)
        except ValueError:
            return None
    if kind == "date":
        try:
            return _time(str(value)).strftime("%Y-%m-%d")
        except ValueError:
            return None
    if kind == "boolean":
        text = _text(value).strip().lower()
        return True if text in _TRUE else False if text in _FALSE else None
    return value if isinstance(value, tuple) else (_text(value),)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _primary(items: Any) -> Any:
    if isinstance(items, str):
        return items if items.strip() else None
    values = [i if isinstance(i, dict) else {"value": i} for i in items or []]
    values = [i for i in values if i.get("value") is not None and str(i["value"]).strip()]
    chosen = next((i for i in values if i.get("primary")), values[0] if values else None)
    return None if chosen is None else chosen["value"]


def _valid_email(email: str) -> bool:
    try:
        validate_email(email, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        return False
    return True


def _phone(raw: Any, region: str | None) -> str | None:
    if raw is None:
        return None
    text = _EXTENSION_WORDS.sub(r" ext. \1", str(raw).strip())
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _id(value: Any) -> int | None:
    value = value.get("value") if isinstance(value, dict) else value
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _time(text: Any) -> datetime:
    if not text:
        return _EPOCH
    moment = datetime.fromisoformat(str(text).replace(" ", "T").replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def as_rows(frame: Any) -> list[dict[str, Any]]:
    """A contacts frame as the same plain dicts (NA as None), to compare with :func:`build_rows`."""
    import pandas as pd
    return [{k: (v if isinstance(v, tuple) else None if pd.isna(v) else v) for k, v in r.items()}
            for r in frame.to_dict("records")]
