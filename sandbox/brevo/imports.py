"""``POST /contacts/import``: read the rows, then apply them to the account in the background.

What Brevo does with an import, as the sandbox reproduces it (research/brevo-api.md §2):

- Rows come from ``jsonBody`` (``[{email, attributes}]``, values typed as JSON) or ``fileBody``
  (CSV text with ``;`` as separator and a header row of attribute names, ``EMAIL`` among them;
  cells are text and are read per attribute type). ``EXT_ID`` and ``SMS`` are attributes of a row.
  A body over 10 MB is refused at once with a 400.
- A row is not imported, and lands in one of the process's CSV reports, when:
  its email is not a valid address, or it has no identifier at all (``invalid_emails``);
  it repeats an email, ext_id or SMS of an earlier row of the same file (``duplicate_email_id``,
  ``duplicate_ext_id``, ``duplicate_phone_id``: the first row wins);
  or its ext_id or SMS belongs to another existing contact than the one the row is keyed on
  (``duplicate_ext_id``, ``duplicate_phone_id``).
  An SMS that is not a valid number with its country code is dropped from the row, as a wrong-typed
  value is; the rest of the row is imported.
- Matching a row to an existing contact: a row is keyed on **its email if it has one, else its
  EXT_ID, else its SMS**, and updates the contact holding that key or creates one. Email is
  Brevo's primary identifier (``email`` is the only identifier ``jsonBody`` names as a field);
  EXT_ID and SMS are the identifier columns a file import offers for rows without one. The row's
  other identifiers must be free or already that contact's. So a row with a *new* email and a
  known EXT_ID is not an email change: it would create a second contact with a taken ext_id, and
  is reported in ``duplicate_ext_id``; an email changes with ``PUT /contacts/{ext_id}``
  (``identifierType=ext_id``, ``attributes.EMAIL``), a single call that repairs the import.
- ``updateExistingContacts`` (default true): false leaves matched contacts' data alone (they are
  still added to the lists). ``emptyContactsAttributes`` (default false): true makes an empty
  value clear the attribute; otherwise empty values are skipped.
- Unknown attributes and wrong-typed values are ignored, as on every contact write.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sandbox.brevo import errors
from sandbox.brevo.store import Account
from sandbox.brevo.values import is_blank, normalize_email, normalize_phone

REPORT_KINDS = ("invalid_emails", "duplicate_contact_id", "duplicate_ext_id", "duplicate_email_id",
                "duplicate_phone_id", "duplicate_whatsapp_id", "duplicate_landline_number_id")
_CHUNK = 2000  # rows applied per hold of the account lock, so API calls interleave with an import


@dataclass
class ImportPlan:
    """A validated import request, ready to run."""

    rows: list[dict[str, Any]]  # upper-cased column -> value; EMAIL, EXT_ID and SMS among them
    from_text: bool
    list_ids: set[int]
    update_existing: bool = True
    empty_attributes: bool = False
    email_blacklist: bool = False
    sms_blacklist: bool = False


def _flag(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        errors.invalid(f"{name} should be type boolean")
    return value


def plan_import(body: dict[str, Any], body_bytes: int, max_bytes: int) -> tuple[ImportPlan, dict[str, Any] | None]:
    """Validate a request as Brevo does before answering 202; returns the plan and ``newList``.

    The lists themselves are checked by the caller, which owns the account.
    """
    json_body, file_body = body.get("jsonBody"), body.get("fileBody")
    if body.get("fileUrl") is not None and json_body is None and file_body is None:
        errors.invalid("fileUrl cannot be fetched by the sandbox (no outside network); send jsonBody or fileBody")
    if json_body is None and file_body is None:
        errors.missing("jsonBody, fileBody or fileUrl is mandatory")
    if json_body is not None and file_body is not None:
        errors.invalid("Only one of jsonBody, fileBody or fileUrl can be passed")
    if json_body is not None:
        if not isinstance(json_body, list):
            errors.invalid("jsonBody should be type array")
        # the request is an upper bound of the jsonBody: measure only when it could be over
        if body_bytes > max_bytes and len(json.dumps(json_body, separators=(",", ":")).encode()) > max_bytes:
            errors.invalid("Maximum allowed json body size is 10MB; use fileUrl to import bigger files")
        rows = [_json_row(i, item) for i, item in enumerate(json_body)]
        from_text = False
    else:
        if not isinstance(file_body, str):
            errors.invalid("fileBody should be type string")
        if len(file_body.encode("utf-8")) > max_bytes:
            errors.invalid("Maximum allowed file body size is 10MB; use fileUrl to import bigger files")
        rows = csv_rows(file_body)
        from_text = True
    new_list = body.get("newList")
    list_ids = body.get("listIds")
    if list_ids is None and new_list is None:
        errors.missing("listIds or newList is mandatory")
    if list_ids is not None and (not isinstance(list_ids, list)
                                 or not all(isinstance(i, int) and not isinstance(i, bool) for i in list_ids)):
        errors.invalid("listIds should be an array of integers")
    if new_list is not None and (not isinstance(new_list, dict) or not isinstance(new_list.get("listName"), str)
                                 or not new_list.get("listName")):
        errors.invalid("newList.listName is mandatory")
    plan = ImportPlan(rows, from_text, set(list_ids or ()),
                      update_existing=_flag(body, "updateExistingContacts", True),
                      empty_attributes=_flag(body, "emptyContactsAttributes", False),
                      email_blacklist=_flag(body, "emailBlacklist", False),
                      sms_blacklist=_flag(body, "smsBlacklist", False))
    return plan, new_list


def _json_row(index: int, item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        errors.invalid(f"jsonBody/{index} should be type object")
    attributes = item.get("attributes")
    if attributes is not None and not isinstance(attributes, dict):
        errors.invalid(f"jsonBody/{index}/attributes should be type object")
    row = {str(k).upper(): v for k, v in (attributes or {}).items()}
    if item.get("email") is not None:
        row["EMAIL"] = item["email"]
    return row


def csv_rows(text: str) -> list[dict[str, Any]]:
    """Rows of a ``;``-separated CSV with a header row (names upper-cased); blank lines skipped."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";")
    header = next(reader, None)
    if not header:
        return []
    names = [h.strip().upper() for h in header]
    return [dict(zip(names, cells, strict=False))
            for cells in reader if any(c.strip() for c in cells)]


def report_csv(rows: Iterable[dict[str, Any]]) -> str:
    """The rows of one report as ``;`` CSV: identifiers first, then the other columns as sent."""
    rows = list(rows)
    columns = ["EMAIL", "EXT_ID", "SMS"]
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([",".join(map(str, v)) if isinstance(v, list) else ("" if v is None else v)
                         for v in (row.get(c) for c in columns)])
    return out.getvalue()


def _ext_id(raw: Any) -> str | None:
    if is_blank(raw) or isinstance(raw, bool):
        return None
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    return str(raw).strip()


def run_import(account: Account, plan: ImportPlan) -> tuple[dict[str, str], dict[str, Any]]:
    """Apply the rows; returns the CSV reports by kind and the figures of the run."""
    rejected: dict[str, list[dict[str, Any]]] = {}
    accepted: list[tuple[dict[str, Any], str | None, str | None, str | None]] = []
    seen: dict[str, set[str]] = {"email": set(), "ext_id": set(), "sms": set()}

    # 1. what can be decided from the file alone
    for row in plan.rows:
        raw_email = row.get("EMAIL")
        email = None
        if not is_blank(raw_email):
            email = normalize_email(raw_email)
            if email is None:
                rejected.setdefault("invalid_emails", []).append(row)
                continue
        ext_id = _ext_id(row.get("EXT_ID"))
        sms = None if is_blank(row.get("SMS")) else normalize_phone(row.get("SMS"))
        if email is None and ext_id is None and sms is None:
            rejected.setdefault("invalid_emails", []).append(row)
            continue
        kind = ("duplicate_email_id" if email is not None and email in seen["email"] else
                "duplicate_ext_id" if ext_id is not None and ext_id in seen["ext_id"] else
                "duplicate_phone_id" if sms is not None and sms in seen["sms"] else None)
        for key, value in (("email", email), ("ext_id", ext_id), ("sms", sms)):
            if value is not None:
                seen[key].add(value)
        if kind is not None:
            rejected.setdefault(kind, []).append(row)
            continue
        accepted.append((row, email, ext_id, sms))

    # 2. against the account, a chunk per hold of the lock
    created = updated = 0
    conflict_kind = {"ext_id": "duplicate_ext_id", "SMS": "duplicate_phone_id", "email": "duplicate_email_id"}
    for start in range(0, len(accepted), _CHUNK):
        with account.lock:
            for row, email, ext_id, sms in accepted[start:start + _CHUNK]:
                target = account.keyed(email, ext_id, sms)
                held = account.conflicts(target, email, ext_id, sms)
                if held:
                    rejected.setdefault(conflict_kind[held[0]], []).append(row)
                    continue
                typed = account.typed_attributes(row, from_text=plan.from_text,
                                                 clear_blank=plan.empty_attributes)
                if target is None:
                    account.insert(email=email, ext_id=ext_id, sms=sms, values=typed.values,
                                   list_ids=plan.list_ids, email_blacklisted=plan.email_blacklist,
                                   sms_blacklisted=plan.sms_blacklist)
                    created += 1
                    continue
                if plan.update_existing:
                    changes = {k: v for k, v in (("email", email), ("ext_id", ext_id), ("sms", sms)) if v is not None}
                    account.set_identifiers(target, **changes)
                    account.set_values(target, typed.values)
                    account.set_flags(target, plan.email_blacklist or None, plan.sms_blacklist or None)
                account.link_lists(target, plan.list_ids)
                updated += 1

    reports = {kind: report_csv(rows) for kind, rows in rejected.items()}
    figures = {"rows": len(plan.rows), "created": created, "updated": updated,
               "rejected": {kind: len(rows) for kind, rows in rejected.items()}}
    return reports, figures
