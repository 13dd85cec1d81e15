"""Reading a Brevo import's CSV reports back into the rows that were sent, with reasons.

A completed ``IMPORTUSER`` process lists, under ``info.import``, a URL per kind of rejection
(``invalid_emails``, ``duplicate_email_id``, ``duplicate_ext_id``, ``duplicate_phone_id``, ...).
Each report is a CSV of the rejected rows: ``;``-separated, a header of upper-case column names
with the identifiers ``EMAIL``, ``EXT_ID`` and ``SMS`` among them, the cells as they were sent.

A report row is matched to a sent row by those three identifiers. Within one file the first of
several rows sharing an identifier is imported and the later ones are reported, so a match takes
the *last* unclaimed sent row with the same identifiers. A report row that matches nothing is
still returned (with ``index=None``) so that no rejection is ever lost.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

IDENTITY_COLUMNS = ("EMAIL", "EXT_ID", "SMS")


@dataclass(frozen=True)
class ImportRejection:
    """One row Brevo did not import, and why (the report's kind, e.g. ``duplicate_email_id``)."""

    reason: str
    row: Mapping[str, Any]  # the row as sent; as the report shows it when unmatched
    index: int | None  # position in the rows given to ``import_contacts``; None when unmatched


def parse_report(text: str) -> list[dict[str, str]]:
    """The rows of a report CSV as dicts keyed by upper-case column name."""
    text = text.lstrip("\ufeff")
    if not text.strip():
        return []
    header_line = text.split("\n", 1)[0]
    delimiter = ";" if header_line.count(";") >= header_line.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip().upper() for h in next(reader, [])]
    return [dict(zip(header, cells, strict=False)) for cells in reader if any(c.strip() for c in cells)]


def _cell(value: Any) -> str:
    """A value as the report CSV writes it."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)


def identity(row: Mapping[str, Any]) -> tuple[str, str, str]:
    """(email, ext_id, sms) of a sent row (``{email, attributes}``) or of a report row."""
    attributes = row.get("attributes")
    flat = {str(k).upper(): v for k, v in (attributes or {}).items()} if isinstance(attributes, Mapping) else {}
    flat.update({str(k).upper(): v for k, v in row.items() if k != "attributes"})
    email, ext_id, sms = (_cell(flat.get(column)).strip() for column in IDENTITY_COLUMNS)
    return email.lower(), ext_id, sms


def match_rejections(sent: Sequence[Mapping[str, Any]], reports: Mapping[str, str],
                     first_index: int = 0) -> list[ImportRejection]:
    """Every report row of every kind, matched to the sent row it came from."""
    unclaimed: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for position, row in enumerate(sent):
        unclaimed[identity(row)].append(position)
    rejections = []
    for reason, text in reports.items():
        for report_row in parse_report(text):
            candidates = unclaimed.get(identity(report_row))
            if candidates:
                position = candidates.pop()
                rejections.append(ImportRejection(reason, sent[position], first_index + position))
            else:
                rejections.append(ImportRejection(reason, report_row, None))
    rejections.sort(key=lambda r: (r.index is None, r.index or 0))
    return rejections
