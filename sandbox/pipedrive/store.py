"""A Pipedrive company account's data, held as the API returns it, and how it changes.

The store is built from an ``Account`` (``sandbox.generator``) or, without one, from a fresh
company (``defaults``). Each entity lives in an :class:`EntityTable` with its indexes. Changes come
from the admin endpoints (tests and the demo play "a user edited this in Pipedrive") and from
``PATCH /api/v2/persons/{id}``; both go through :meth:`PipedriveStore.upsert`, which merges fields,
merges ``custom_fields`` key by key and bumps ``update_time`` as Pipedrive does.

Soft deletes follow the docs: ``is_deleted`` turns true and ``update_time`` becomes the delete
time ("If the person has is_deleted: true, update_time is the delete_time").
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Callable
from typing import Any

from sandbox.pipedrive import defaults, times
from sandbox.pipedrive.table import EntityTable

TIMED = ("id", "update_time", "add_time")

# entity -> (sort fields, reference fields); the reference fields are the list filters and the
# links the opt-in counts follow.
ENTITY_LAYOUT: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "persons": (TIMED, ("org_id", "owner_id")),
    "organizations": (TIMED, ("owner_id",)),
    "deals": (TIMED, ("person_id", "org_id", "owner_id", "pipeline_id", "stage_id")),
    "activities": ((*TIMED, "due_date"), ("deal_id", "person_id", "org_id", "lead_id", "owner_id")),
    "leads": (TIMED, ("person_id", "organization_id", "owner_id")),
    "pipelines": (TIMED, ()),
    "stages": ((*TIMED, "order_nr"), ("pipeline_id",)),
}
# The entities the admin endpoints may write.
WRITABLE = ("persons", "organizations", "deals", "activities", "leads")

# Values a record gets when it is created without them.
_NEW_RECORD: dict[str, dict[str, Any]] = {
    "persons": {"is_deleted": False, "custom_fields": {}, "emails": [], "phones": [], "label_ids": []},
    "organizations": {"is_deleted": False, "custom_fields": {}, "label_ids": []},
    "deals": {"is_deleted": False, "is_archived": False, "status": "open", "custom_fields": {}, "label_ids": []},
    "activities": {"is_deleted": False, "done": False},
    "leads": {"is_archived": False, "label_ids": [], "was_seen": False},
}


class UnknownRecord(LookupError):
    """No record with that id: the API answers 404."""


class PipedriveStore:
    """All the data of one company account, safe to use from the server's threads."""

    def __init__(self, account: Any | None = None, *, clock: Callable[[], float]):
        self.clock = clock
        self.lock = threading.RLock()
        self.tables: dict[str, EntityTable] = {
            name: EntityTable(name, sort_fields=sorts, ref_fields=refs)
            for name, (sorts, refs) in ENTITY_LAYOUT.items()
        }
        self.company_domain: str = getattr(account, "company_domain", None) or defaults.COMPANY_DOMAIN
        self.fields: dict[str, list[dict[str, Any]]] = {
            "persons": _listed(account, "person_fields", defaults.person_fields),
            "organizations": _listed(account, "organization_fields", defaults.organization_fields),
            "deals": _listed(account, "deal_fields", defaults.deal_fields),
        }
        self.users: list[dict[str, Any]] = _listed(account, "users", defaults.users)
        self.activity_types: list[dict[str, Any]] = _listed(account, "activity_types", defaults.activity_types)
        self.lead_labels: list[dict[str, Any]] = _listed(account, "lead_labels", defaults.lead_labels)
        for name in WRITABLE:
            self.tables[name].load(list(getattr(account, name, None) or []))
        self.tables["pipelines"].load(_listed(account, "pipelines", defaults.pipelines))
        self.tables["stages"].load(_listed(account, "stages", defaults.stages))
        self.webhooks: dict[int, dict[str, Any]] = {}
        self._next_webhook_id = 1
        self._option_labels = {entity: _option_labels(fields) for entity, fields in self.fields.items()}

    # ---------------------------------------------------------------- reads
    def table(self, entity: str) -> EntityTable:
        return self.tables[entity]

    def get(self, entity: str, record_id: Any) -> dict[str, Any]:
        with self.lock:
            record = self.tables[entity].get(record_id)
        if record is None:
            raise UnknownRecord(f"{entity} {record_id!r}")
        return record

    def option_labels(self, entity: str) -> dict[str, dict[Any, str]]:
        """field_code -> {option id: label} for the entity's enum and set fields."""
        return self._option_labels.get(entity, {})

    # --------------------------------------------------------------- writes
    def upsert(self, entity: str, changes: dict[str, Any], *, create: bool = True) -> dict[str, Any]:
        """Merge ``changes`` into the record with their id (or a new one) and return the result.

        ``custom_fields`` merge key by key, as PATCH does; ``update_time`` becomes now unless the
        changes name it (a test that sets an exact time), ``add_time`` too for a new record.
        """
        if entity not in WRITABLE:
            raise ValueError(f"unknown entity {entity!r}; valid: {', '.join(WRITABLE)}")
        if not isinstance(changes, dict):
            raise TypeError(f"a {entity} record must be a dict, not {type(changes).__name__}")
        with self.lock:
            table = self.tables[entity]
            record_id = changes.get("id")
            old = table.get(record_id) if record_id is not None else None
            if old is None and not create:
                raise UnknownRecord(f"{entity} {record_id!r}")
            now = self._stamp(entity)
            if old is None:
                record_id = record_id if record_id is not None else self._next_id(entity)
                base = {**copy.deepcopy(_NEW_RECORD[entity]), "id": record_id, "add_time": now}
            else:
                base = old
            merged = {**base, **changes, "id": record_id}
            if "custom_fields" in changes and isinstance(base.get("custom_fields"), dict):
                merged["custom_fields"] = {**base["custom_fields"], **(changes["custom_fields"] or {})}
            if "update_time" not in changes:
                merged["update_time"] = now
            table.put(merged)
            return merged

    def upsert_many(self, entity: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        with self.lock:
            return [self.upsert(entity, record) for record in records]

    def soft_delete(self, entity: str, ids: list[Any]) -> list[Any]:
        """Mark records deleted now; returns the ids that existed."""
        if entity not in WRITABLE:
            raise ValueError(f"unknown entity {entity!r}; valid: {', '.join(WRITABLE)}")
        done = []
        with self.lock:
            for record_id in ids:
                if self.tables[entity].get(record_id) is not None:
                    self.upsert(entity, {"id": record_id, "is_deleted": True}, create=False)
                    done.append(record_id)
        return done

    def add_webhook(self, webhook: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            stored = {**webhook, "id": self._next_webhook_id}
            self._next_webhook_id += 1
            self.webhooks[stored["id"]] = stored
            return stored

    # -------------------------------------------------------------- helpers
    def _stamp(self, entity: str) -> str:
        now = self.clock()
        return times.millis_timestamp(now) if entity == "leads" else times.v2_timestamp(now)

    def _next_id(self, entity: str) -> Any:
        if entity == "leads":
            return str(uuid.uuid4())
        return self.tables[entity].max_id(default=0) + 1


def _listed(source: Any, name: str, fallback: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """An account attribute, or the fresh-company default when there is no account or it is empty."""
    values = getattr(source, name, None)
    return list(values) if values else fallback()


def _option_labels(fields: list[dict[str, Any]]) -> dict[str, dict[Any, str]]:
    return {f["field_code"]: {o["id"]: o["label"] for o in f.get("options") or []}
            for f in fields if f.get("field_type") in ("enum", "set") and f.get("options")}
