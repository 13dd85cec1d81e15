"""What Brevo must have before contacts are sent: the mapped lists and the mapped attributes.

* Lists: Brevo chooses list ids, so a list the mapping names cannot be created with that id; a
  missing one stops the run before any write, naming the list id and the mapping key.
* Attributes: Brevo silently drops an attribute it does not know, so each missing one is created
  with the type that fits its Pipedrive field (``options.create_missing_attributes``).
* On a first sync or a full refresh the mapped lists' current members are read, so the plan can
  mirror them (CONTRACT §4): memberships Pipedrive does not justify are removed.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from pipedrive_brevo.config import Mapping
from pipedrive_brevo.transform.fields import AttributeSpec, missing_attributes, normalise_brevo_type


class MissingListError(ValueError):
    """A list the mapping names does not exist in Brevo."""


def list_keys(mapping: Mapping) -> dict[int, list[str]]:
    """Each mapped list id and the mapping keys that name it (for messages people can act on)."""
    keys: dict[int, list[str]] = {}
    lists = mapping.pipedrive.lists
    for name in ("all_contacts", "qualified_leads", "customers", "churned"):
        value = getattr(lists, name)
        if value is not None:
            keys.setdefault(value, []).append(f"connectors.pipedrive.lists.{name}")
    stages = mapping.deal_stage_mapping
    for assignment in stages.stages:
        keys.setdefault(assignment.list_id, []).append(f"deal_stage_mapping.{assignment.stage_id}")
    for status in ("won", "lost"):
        value = stages.list_for_status(status)
        if value is not None:
            keys.setdefault(value, []).append(f"deal_stage_mapping.{status}")
    if mapping.options.leads_list is not None:
        keys.setdefault(mapping.options.leads_list, []).append("options.leads_list")
    return keys


def check_lists(mapping: Mapping, brevo_lists: list[dict[str, Any]]) -> None:
    """Raise :class:`MissingListError` naming every mapped list Brevo lacks."""
    existing = {int(item["id"]) for item in brevo_lists if isinstance(item, dict) and "id" in item}
    missing = {list_id: keys for list_id, keys in list_keys(mapping).items() if list_id not in existing}
    if missing:
        where = "; ".join(f"list {list_id} ({', '.join(keys)})" for list_id, keys in sorted(missing.items()))
        file = mapping.file or "the mapping file"
        raise MissingListError(f"{file}: Brevo has no {where}. Brevo chooses list ids, so create the list in "
                               f"Brevo and write its id into the mapping. Existing list ids: "
                               f"{', '.join(str(i) for i in sorted(existing)) or '(none)'}")


def attribute_types(attributes: list[dict[str, Any]]) -> dict[str, str]:
    """``GET /contacts/attributes`` as attribute name → Brevo type (category ones as ``category``)."""
    found: dict[str, str] = {}
    for item in attributes:
        name = str(item.get("name") or "").upper()
        if not name:
            continue
        kind = item.get("type") or ("category" if item.get("category") == "category" or item.get("enumeration")
                                    else None)
        found[name] = normalise_brevo_type(kind) or "text"
    return found


def create_missing(hook: Any, specs: tuple[AttributeSpec, ...]) -> dict[str, str]:
    """Create each attribute Brevo lacks with its spec's type; returns name → type created.

    A category or multiple-choice attribute needs its options; a mapped field that has none
    (no option defined yet) is created as text, which Brevo accepts any label in.
    """
    created: dict[str, str] = {}
    for spec in missing_attributes(specs):
        kind = spec.brevo_type
        if kind in ("category", "multiple-choice") and not spec.labels:
            kind = "text"
        hook.create_attribute(spec.attribute, kind, options=spec.labels)
        created[spec.attribute] = kind
    return created


def read_members(hook: Any, list_ids: tuple[int, ...]) -> pd.DataFrame:
    """The current members of these lists as ``list_id``/``email`` rows."""
    rows: list[tuple[int, str]] = []
    for list_id in list_ids:
        for page in hook.iter_list_contacts(list_id):
            rows.extend((list_id, str(c["email"]).strip().lower()) for c in page if c.get("email"))
    return pd.DataFrame({"list_id": pd.Series([r[0] for r in rows], dtype="int64"),
                         "email": pd.Series([r[1] for r in rows], dtype="string")})


COMPANY_ORG_LABEL = "pipedrive_org_id"


def company_org_attribute(hook: Any, *, create: bool) -> str | None:
    """The internal name of the company attribute that holds the Pipedrive organization id.

    A Brevo company has no ext_id, so this attribute is how a company is found again; it is
    created (text) when missing and ``create`` is set. None when it is missing and not created.
    """
    def find() -> str | None:
        for item in hook.get_company_attributes():
            if str(item.get("label", "")).lower() == COMPANY_ORG_LABEL or item.get("internalName") == COMPANY_ORG_LABEL:
                return str(item.get("internalName"))
        return None

    found = find()
    if found is None and create:
        hook.create_company_attribute(COMPANY_ORG_LABEL, "text")
        found = find()
    return found
