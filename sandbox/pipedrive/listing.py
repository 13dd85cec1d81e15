"""One page of a v2 list: keyset cursor over a sorted index, filters, and a query plan.

A page is read in one of two ways, whichever touches fewer records:

* **scan** the sort index from the cursor (one bisect) and keep the records that pass the
  filters, stopping at ``limit + 1``. With ``sort_by=update_time`` the ``updated_since`` /
  ``updated_until`` window bounds the scan itself, so an incremental extraction reads exactly its
  page. Cost: about ``limit / selectivity`` records.
* **gather** the few candidate ids a selective filter names (``ids``, ``org_id``, a narrow window
  on another sort), sort them, and cut the page. Cost: about ``k log k`` for ``k`` candidates.

Gathering wins when ``k * k <= limit * N`` (equating the two costs), so a full cursor scan at
100k persons costs O(page) per page and a narrow filter never walks the whole table.

The cursor names the first record of the next page, so records inserted or updated while a
client pages never shift what it has still to read (unlike offsets).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sandbox.pipedrive.params import Cursor
from sandbox.pipedrive.table import EntityTable, position

WINDOW_FIELD = "update_time"


@dataclass
class ListQuery:
    sort_by: str = "id"
    descending: bool = False
    limit: int = 100
    cursor: Cursor | None = None
    since: float | None = None  # update_time >= since
    until: float | None = None  # update_time < until
    ids: set[Any] | None = None  # only these ids (None: any)
    equals: dict[str, Any] = field(default_factory=dict)  # field -> required value
    keep: Callable[[dict[str, Any]], bool] = lambda record: True  # visibility and other filters

    @property
    def direction(self) -> str:
        return "desc" if self.descending else "asc"


class InvalidCursor(ValueError):
    """A cursor whose values cannot be placed in the index (it was edited or belongs elsewhere)."""


def read_page(table: EntityTable, query: ListQuery) -> tuple[list[dict[str, Any]], Cursor | None]:
    """The page and the cursor of the next one (``None`` at the end); call under the store lock.

    Raises :class:`InvalidCursor` for a cursor that does not fit the index.
    """
    start = None
    if query.cursor is not None:
        try:
            start = position(query.sort_by, query.cursor.value, query.cursor.id)
        except ValueError as exc:
            raise InvalidCursor(str(exc)) from None
    candidates = _candidates(table, query)
    if candidates is not None:
        rows: Iterable[dict[str, Any]] = _gathered(table, query, candidates, start)
    elif query.sort_by == WINDOW_FIELD:
        rows = (r for r in table.scan(WINDOW_FIELD, query.descending, start, query.since, query.until)
                if _passes(r, query, check_window=False))
    else:
        rows = (r for r in table.scan(query.sort_by, query.descending, start) if _passes(r, query))
    page: list[dict[str, Any]] = []
    for record in rows:
        if len(page) == query.limit:
            return page, Cursor(query.sort_by, record.get(query.sort_by), query.direction, record["id"])
        page.append(record)
    return page, None


def _candidates(table: EntityTable, query: ListQuery) -> Iterable[Any] | None:
    """The smallest set of ids that must contain the page, when gathering it beats scanning."""
    options: list[tuple[int, Callable[[], Iterable[Any]]]] = []
    if query.ids is not None:
        options.append((len(query.ids), lambda: query.ids))
    for name, value in query.equals.items():
        if name in table.ref_fields:
            options.append((table.ref_count(name, value), lambda n=name, v=value: table.with_ref(n, v)))
    windowed = query.since is not None or query.until is not None
    if windowed and query.sort_by != WINDOW_FIELD:
        options.append((table.count_between(WINDOW_FIELD, query.since, query.until),
                        lambda: table.ids_between(WINDOW_FIELD, query.since, query.until)))
    if not options:
        return None
    size, make = min(options, key=lambda option: option[0])
    if query.ids is None and size * size > query.limit * len(table):
        return None
    return make()


def _gathered(table: EntityTable, query: ListQuery, ids: Iterable[Any],
              start: tuple[Any, Any] | None) -> list[dict[str, Any]]:
    rows = [r for r in (table.get(i) for i in ids) if r is not None and _passes(r, query)]
    keyed = sorted(((table.key(query.sort_by, r), r["id"]), r) for r in rows)
    if query.descending:
        keyed.reverse()
    if start is not None:
        keyed = [(k, r) for k, r in keyed if (k <= start if query.descending else k >= start)]
    return [r for _, r in keyed]


def _passes(record: dict[str, Any], query: ListQuery, *, check_window: bool = True) -> bool:
    if query.ids is not None and record["id"] not in query.ids:
        return False
    for name, value in query.equals.items():
        if record.get(name) != value:
            return False
    if check_window and (query.since is not None or query.until is not None):
        moment = EntityTable.key(WINDOW_FIELD, record)
        if (query.since is not None and moment < query.since) or (query.until is not None and moment >= query.until):
            return False
    return query.keep(record)
