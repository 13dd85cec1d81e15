"""One entity's records with the indexes that keep a list query O(page), not O(records).

Every sortable field has a list of ``(key, id)`` kept sorted, so a keyset cursor is one bisect
away and an ``updated_since``/``updated_until`` window is a slice of the ``update_time`` index.
Reference fields (``org_id``, ``person_id``, ...) have a value -> ids map for filters and for
the counts ``include_fields`` asks for.

An index is built the first time a query needs it and kept in step from then on: a 100k-person
account starts serving at once, and an index nobody queries (``add_time`` of stages) costs nothing.

Records are never changed in place: :meth:`EntityTable.put` stores a new dict, so a reader that
took a record under the lock may serialise it after the lock is released.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from typing import Any

from sandbox.pipedrive import times
from sandbox.pipedrive.memory import paused_gc


def _due_date(value: Any) -> str:
    return value or ""


def _order(value: Any) -> int:
    return -1 if value is None else int(value)


def _same(value: Any) -> Any:
    return value


# How a field's value orders; a missing value sorts first.
SORT_KEYS: dict[str, Callable[[Any], Any]] = {
    "id": _same,
    "update_time": times.to_epoch,
    "add_time": times.to_epoch,
    "due_date": _due_date,
    "order_nr": _order,
}
_KEY_TYPES: dict[str, type] = {"id": int, "update_time": float, "add_time": float, "due_date": str, "order_nr": int}


def position(field: str, value: Any, record_id: Any) -> tuple[Any, int]:
    """The index entry a cursor points at; ValueError when it cannot be ordered with real entries."""
    try:
        key = SORT_KEYS[field](value)
    except (TypeError, ValueError):
        raise ValueError(f"{value!r} is no {field} value") from None
    if type(key) is not _KEY_TYPES[field] or type(record_id) is not int:
        raise ValueError(f"({value!r}, {record_id!r}) is no {field} position")
    return key, record_id


class EntityTable:
    """Records of one entity by id, sorted indexes per sort field, and reference maps.

    Not thread-safe by itself: the store's lock guards every call, reads included (a read may
    build an index).
    """

    def __init__(self, name: str, *, sort_fields: tuple[str, ...], ref_fields: tuple[str, ...] = ()):
        self.name = name
        self.sort_fields = sort_fields
        self.ref_fields = ref_fields
        self.records: dict[Any, dict[str, Any]] = {}
        self._index: dict[str, list[tuple[Any, Any]]] = {}  # built on first use
        self._refs: dict[str, dict[Any, set[Any]]] = {}  # built on first use
        self.version = 0  # bumped on every change; caches key on it

    def __len__(self) -> int:
        return len(self.records)

    @staticmethod
    def key(field: str, record: dict[str, Any]) -> Any:
        return SORT_KEYS[field](record.get(field))

    # -------------------------------------------------------------- indexes
    def _sorted(self, field: str) -> list[tuple[Any, Any]]:
        index = self._index.get(field)
        if index is None:
            key = SORT_KEYS[field]
            with paused_gc():
                index = sorted([(key(r.get(field)), i) for i, r in self.records.items()])
            self._index[field] = index
        return index

    def _ref_map(self, field: str) -> dict[Any, set[Any]]:
        refs = self._refs.get(field)
        if refs is None:
            refs = {}
            for record_id, record in self.records.items():
                value = record.get(field)
                if value is not None:
                    refs.setdefault(value, set()).add(record_id)
            self._refs[field] = refs
        return refs

    # --------------------------------------------------------------- writes
    def load(self, records: list[dict[str, Any]]) -> None:
        """Bulk load (start-up); indexes follow when first queried."""
        for record in records:
            self.records[record["id"]] = record
        self._index.clear()
        self._refs.clear()
        self.version += 1

    def put(self, record: dict[str, Any]) -> None:
        """Insert or replace the record with ``record["id"]``, keeping every built index in step."""
        record_id = record["id"]
        old = self.records.get(record_id)
        for field, index in self._index.items():
            if old is not None:
                entry = (self.key(field, old), record_id)
                at = bisect.bisect_left(index, entry)
                if at < len(index) and index[at] == entry:
                    del index[at]
            bisect.insort(index, (self.key(field, record), record_id))
        for field, refs in self._refs.items():
            before = None if old is None else old.get(field)
            after = record.get(field)
            if before is not None and before != after:
                refs.get(before, set()).discard(record_id)
            if after is not None:
                refs.setdefault(after, set()).add(record_id)
        self.records[record_id] = record
        self.version += 1

    # ---------------------------------------------------------------- reads
    def get(self, record_id: Any) -> dict[str, Any] | None:
        return self.records.get(record_id)

    def max_id(self, default: Any = None) -> Any:
        index = self._sorted("id")
        return index[-1][1] if index else default

    def ref_count(self, field: str, value: Any) -> int:
        return len(self._ref_map(field).get(value, ()))

    def with_ref(self, field: str, value: Any) -> set[Any]:
        """Ids of the records whose ``field`` is ``value`` (a copy: safe to keep)."""
        return set(self._ref_map(field).get(value, ()))

    def referencing(self, field: str, value: Any) -> Iterator[dict[str, Any]]:
        for record_id in self._ref_map(field).get(value, ()):
            yield self.records[record_id]

    def _bounds(self, index: list[tuple[Any, Any]], low: Any, high: Any) -> tuple[int, int]:
        """Positions of the keys in [low, high) (either end open when None)."""
        lo = 0 if low is None else bisect.bisect_left(index, (low,))
        hi = len(index) if high is None else bisect.bisect_left(index, (high,))
        return lo, max(lo, hi)

    def count_between(self, field: str, low: Any, high: Any) -> int:
        lo, hi = self._bounds(self._sorted(field), low, high)
        return hi - lo

    def ids_between(self, field: str, low: Any, high: Any) -> list[Any]:
        index = self._sorted(field)
        lo, hi = self._bounds(index, low, high)
        return [record_id for _, record_id in index[lo:hi]]

    def scan(self, field: str, descending: bool, start: tuple[Any, Any] | None = None,
             low: Any = None, high: Any = None) -> Iterator[dict[str, Any]]:
        """Records in ``field`` order from ``start`` (inclusive), optionally only keys in [low, high).

        The generator reads the index lazily: call it under the store lock and stop early.
        """
        index = self._sorted(field)
        lo, hi = self._bounds(index, low, high)
        records = self.records
        if not descending:
            at = lo if start is None else max(lo, bisect.bisect_left(index, start))
            while at < hi:
                yield records[index[at][1]]
                at += 1
        else:
            at = hi - 1 if start is None else min(hi - 1, bisect.bisect_right(index, start) - 1)
            while at >= lo:
                yield records[index[at][1]]
                at -= 1
