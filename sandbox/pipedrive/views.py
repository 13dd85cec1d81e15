"""How a stored v2 record is shown for one request.

Stored records may hold opt-in fields (a generated ``marketing_status``, counts); the API shows
them only when ``include_fields`` asks. ``custom_fields=`` narrows the custom fields returned,
``include_option_labels=true`` turns enum and set option ids into ``{id, label}`` and
``include_labels=true`` adds the record's label objects. With none of that asked and nothing to
hide, the stored dict itself is returned (records are never changed in place), which keeps a
500-record page cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sandbox.pipedrive import params
from sandbox.pipedrive.optional_fields import optional_values
from sandbox.pipedrive.store import PipedriveStore
from sandbox.server import Request

_LABEL_FIELD = "label_ids"


@dataclass(frozen=True)
class View:
    """The presentation options of one request for one entity."""

    entity: str
    opt_in: frozenset[str]  # every field this operation shows only on request
    include: tuple[str, ...] = ()
    custom_fields: frozenset[str] | None = None
    option_labels: bool = False
    labels: bool = False

    @classmethod
    def from_request(cls, request: Request, entity: str, opt_in: frozenset[str]) -> View:
        include = params.names(request, "include_fields", allowed=opt_in) if opt_in else []
        custom = params.names(request, "custom_fields", max_items=params.MAX_CUSTOM_FIELDS)
        return cls(entity, opt_in, tuple(dict.fromkeys(include)),
                   frozenset(custom) if custom else None,
                   bool(params.boolean(request, "include_option_labels")),
                   bool(params.boolean(request, "include_labels")))

    def present(self, store: PipedriveStore, record: dict[str, Any]) -> dict[str, Any]:
        """The record as this request sees it (call under the store lock)."""
        plain = (not self.include and self.custom_fields is None and not self.option_labels
                 and not self.labels and self.opt_in.isdisjoint(record))
        if plain:
            return record
        shown = {k: v for k, v in record.items() if k not in self.opt_in}
        if self.include:
            shown.update(optional_values(store, self.entity, record, list(self.include)))
        custom = record.get("custom_fields")
        if isinstance(custom, dict) and (self.custom_fields is not None or self.option_labels):
            if self.custom_fields is not None:
                custom = {k: v for k, v in custom.items() if k in self.custom_fields}
            if self.option_labels:
                custom = _with_option_labels(custom, store.option_labels(self.entity))
            shown["custom_fields"] = custom
        if self.labels:
            names = store.option_labels(self.entity).get(_LABEL_FIELD, {})
            shown["labels"] = [{"id": i, "label": names.get(i)} for i in record.get(_LABEL_FIELD) or []]
        return shown


def _with_option_labels(custom: dict[str, Any], labels: dict[str, dict[Any, str]]) -> dict[str, Any]:
    out = dict(custom)
    for code, value in custom.items():
        names = labels.get(code)
        if names is None or value is None:
            continue
        if isinstance(value, list):
            out[code] = [{"id": v, "label": names.get(v)} for v in value]
        else:
            out[code] = {"id": value, "label": names.get(value)}
    return out
