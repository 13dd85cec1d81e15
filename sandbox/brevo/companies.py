"""Brevo CRM companies and their attributes (``/companies``, ``/crm/attributes``).

Companies are CRM objects, unlike contacts: their ids are 24-hex-digit strings (MongoDB
ObjectIds), their errors are ``{"message": ...}`` (see errors.crm_fail), they have no ext_id, and a
PATCH of ``linkedContactsIds`` *replaces* the links (``PATCH /companies/link-unlink/{id}`` adds and
removes them).
A company's name lives in ``attributes.name``, next to ``created_at`` and ``last_updated_at``.

Attributes a company does not have (see ``GET /crm/attributes/companies``) are ignored on write, as
Brevo drops unknown contact attributes; the product keeps the Pipedrive org id in a custom
attribute it creates first with ``POST /crm/attributes``.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from sandbox.brevo.store import Account
from sandbox.brevo.values import iso_ms, normalize_email

OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")
CRM_TYPES = ("text", "user", "number", "single-select", "date", "boolean", "multi-choice")


@dataclass
class CrmAttribute:
    id: str
    internal_name: str
    label: str
    type: str
    options: list[str] = field(default_factory=list)
    required: bool = False
    readonly: bool = False

    def view(self) -> dict[str, Any]:
        return {"internalName": self.internal_name, "label": self.label, "attributeTypeName": self.type,
                "attributeOptions": [{"key": option, "value": option} for option in self.options],
                "isRequired": self.required, "isValueReadonly": self.readonly}


@dataclass
class Company:
    id: str
    attributes: dict[str, Any]  # "name" among them
    contact_ids: list[int]
    deal_ids: list[str]
    created_ms: int
    modified_ms: int

    def view(self) -> dict[str, Any]:
        return {"id": self.id,
                "attributes": {**self.attributes, "created_at": iso_ms(self.created_ms),
                               "last_updated_at": iso_ms(self.modified_ms)},
                "linkedContactsIds": list(self.contact_ids), "linkedDealsIds": list(self.deal_ids)}


def internal_name(label: str) -> str:
    """How Brevo names a CRM attribute internally: its label, lower-case, with ``_`` for the rest."""
    return re.sub(r"[^a-z0-9]+", "_", label.strip().lower()).strip("_")


def _default_company_attributes(ids: itertools.count[int]) -> list[CrmAttribute]:
    def make(name: str, label: str, kind: str, **kw: Any) -> CrmAttribute:
        return CrmAttribute(f"{next(ids):024x}", name, label, kind, **kw)

    return [make("name", "Company name", "text", required=True),
            make("owner", "Company owner", "user"),
            make("domain", "Domain", "text"),
            make("industry", "Industry", "text"),
            make("phone_number", "Phone number", "text"),
            make("number_of_employees", "Number of employees", "number"),
            make("revenue", "Revenue", "number"),
            make("created_at", "Created at", "date", readonly=True),
            make("last_updated_at", "Last updated at", "date", readonly=True)]


class CompanyStore:
    """Companies and CRM attributes of one account; contacts are looked up in ``account``."""

    def __init__(self, account: Account):
        self.account = account
        self.lock = threading.RLock()
        self._ids = itertools.count(0x65A000000000000000000001)
        self.companies: dict[str, Company] = {}
        self.attributes: dict[str, list[CrmAttribute]] = {
            "companies": _default_company_attributes(self._ids),
            "deals": [CrmAttribute(f"{next(self._ids):024x}", "deal_name", "Deal name", "text", required=True)],
        }

    def new_id(self) -> str:
        with self.lock:
            return f"{next(self._ids):024x}"

    # ------------------------------------------------------------ attributes
    def attribute_names(self) -> set[str]:
        return {a.internal_name for a in self.attributes["companies"] if not a.readonly}

    def add_attribute(self, object_type: str, label: str, kind: str, options: list[str]) -> CrmAttribute:
        with self.lock:
            attribute = CrmAttribute(self.new_id(), internal_name(label), label, kind, list(options))
            self.attributes[object_type].append(attribute)
            return attribute

    def has_label(self, object_type: str, label: str) -> bool:
        name = internal_name(label)
        return any(a.label.lower() == label.strip().lower() or a.internal_name == name
                   for a in self.attributes[object_type])

    def known_values(self, attributes: dict[str, Any]) -> dict[str, Any]:
        """The attributes a company has; others are dropped (None clears a value)."""
        names = self.attribute_names()
        return {k: v for k, v in attributes.items() if k in names}

    # ------------------------------------------------------------ companies
    def existing_contacts(self, ids: list[Any]) -> list[int]:
        """The given contact ids that exist, in order, without repeats; others are dropped."""
        found: dict[int, None] = {}
        for contact_id in ids:
            if isinstance(contact_id, int) and not isinstance(contact_id, bool) and self.account.get(contact_id):
                found[contact_id] = None
        return list(found)

    def create(self, name: str, attributes: dict[str, Any], contact_ids: list[int], deal_ids: list[str]) -> Company:
        with self.lock:
            now = self.account.now_ms()
            values = {k: v for k, v in self.known_values(attributes).items() if v is not None}
            values["name"] = name
            company = Company(self.new_id(), values, contact_ids, list(dict.fromkeys(deal_ids)), now, now)
            self.companies[company.id] = company
            return company

    def update(self, company: Company, *, name: str | None = None, attributes: dict[str, Any] | None = None,
               contact_ids: list[int] | None = None, deal_ids: list[str] | None = None) -> None:
        with self.lock:
            for key, value in self.known_values(attributes or {}).items():
                if value is None:
                    company.attributes.pop(key, None)
                else:
                    company.attributes[key] = value
            if name is not None:
                company.attributes["name"] = name
            if contact_ids is not None:
                company.contact_ids = contact_ids
            if deal_ids is not None:
                company.deal_ids = list(dict.fromkeys(deal_ids))
            company.modified_ms = self.account.now_ms()

    def link(self, company: Company, link: list[int], unlink: list[int], link_deals: list[str],
             unlink_deals: list[str]) -> None:
        with self.lock:
            drop = set(unlink)
            ids = [i for i in company.contact_ids if i not in drop]
            ids += [i for i in self.existing_contacts(link) if i not in ids]
            drop_deals = set(unlink_deals)
            deals = [d for d in company.deal_ids if d not in drop_deals]
            deals += [d for d in dict.fromkeys(link_deals) if d not in deals]
            company.contact_ids, company.deal_ids = ids, deals
            company.modified_ms = self.account.now_ms()

    def select(self, *, attribute_filters: dict[str, str], contact_id: int | None, deal_id: str | None,
               modified_since: int | None, created_since: int | None, sort_by: str, descending: bool,
               ) -> list[Company]:
        with self.lock:
            found = [c for c in self.companies.values()
                     if all(str(c.attributes.get(k)) == v for k, v in attribute_filters.items())
                     and (contact_id is None or contact_id in c.contact_ids)
                     and (deal_id is None or deal_id in c.deal_ids)
                     and (modified_since is None or c.modified_ms > modified_since)
                     and (created_since is None or c.created_ms > created_since)]

        def key(c: Company) -> tuple[Any, ...]:
            if sort_by in ("created_at", ""):
                return (c.created_ms, c.id)
            if sort_by == "last_updated_at":
                return (c.modified_ms, c.id)
            value = c.attributes.get(sort_by)
            return (value is None, str(value), c.id)

        found.sort(key=key, reverse=descending)
        return found

    # ------------------------------------------------------------ import
    def run_import(self, text: str, mapping: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
        """Apply a companies CSV (header of attribute internal names plus ``company_id``,
        ``associated_contact``, ``associated_deal``).

        ``update_existing_records``: a row with a known ``company_id`` updates that company (else
        every row creates one). ``unset_empty_attributes``: a blank cell clears the attribute
        (else it is skipped). ``link_entities``: the row's contacts (ids or emails, separated by
        ``,`` or ``|``) and deals are linked; with ``unlink_entities`` they *replace* the existing
        links. A row that would create a company without a name is skipped and counted as failed.
        """
        update_existing = bool(mapping.get("update_existing_records", True))
        unset_empty = bool(mapping.get("unset_empty_attributes", False))
        link = bool(mapping.get("link_entities", True))
        replace_links = bool(mapping.get("unlink_entities", False))
        created = updated = failed = 0
        for row in _company_rows(text):
            company_id = (row.pop("company_id", "") or "").strip()
            contacts = self._contacts_of(row.pop("associated_contact", "") or "")
            deals = [d for d in re.split(r"[|,]", row.pop("associated_deal", "") or "") if d.strip()]
            values = {k: (v if v.strip() else None) for k, v in row.items()}
            if not unset_empty:
                values = {k: v for k, v in values.items() if v is not None}
            company = self.companies.get(company_id) if update_existing and company_id else None
            if company is None:
                name = values.pop("name", None)
                if not name:
                    failed += 1
                    continue
                self.create(name, values, contacts if link else [], deals if link else [])
                created += 1
                continue
            name = values.pop("name", None)
            self.update(company, name=name or None, attributes=values)
            if link and replace_links:
                self.update(company, contact_ids=contacts, deal_ids=deals)
            elif link:
                self.link(company, contacts, [], deals, [])
            updated += 1
        return {}, {"created": created, "updated": updated, "failed": failed}

    def _contacts_of(self, cell: str) -> list[int]:
        ids: list[Any] = []
        for part in re.split(r"[|,]", cell):
            part = part.strip()
            if part.isdigit():
                ids.append(int(part))
            elif part:
                email = normalize_email(part)
                contact = self.account.by_identifier("email", email) if email else None
                if contact is not None:
                    ids.append(contact.id)
        return self.existing_contacts(ids)


def _company_rows(text: str) -> list[dict[str, str]]:
    text = text.lstrip("\ufeff")
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next(reader, None) or []
    names = [h.strip().lower() for h in header]
    return [dict(zip(names, cells, strict=False)) for cells in reader if any(c.strip() for c in cells)]
