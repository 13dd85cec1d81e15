"""Which slice of Pipedrive's history a run extracts, and where the next run starts.

Why not the DAG run's data interval: a skipped, failed or paused run would then lose the changes
of its interval, and manual runs have none (their ``logical_date`` is None). Instead each entity
keeps a *watermark*, the end of its last successfully extracted window, and a scheduled run
extracts ``[watermark, run_after - lag)``. Pipedrive's ``updated_since`` is inclusive and
``updated_until`` exclusive, so consecutive windows neither overlap nor leave a gap. The lag keeps
the window's end a little behind the present, where writes still in flight could land behind it.

A backfill (``since``/``until``) re-reads a past window and never moves the watermark; a full
refresh reads everything and sets it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

DEFAULT_LAG = timedelta(minutes=2)


class WindowError(ValueError):
    """A run's parameters ask for a window that cannot be extracted."""


@dataclass(frozen=True)
class Window:
    """``[since, until)`` in UTC; ``since`` None means from the beginning of the account."""

    since: datetime | None
    until: datetime
    kind: str  # "full" (first run or full_refresh), "incremental" or "backfill"

    @property
    def moves_watermark(self) -> bool:
        return self.kind != "backfill"

    def to_dict(self) -> dict[str, str | None]:
        return {"since": iso(self.since) if self.since else None, "until": iso(self.until), "kind": self.kind}

    @classmethod
    def from_dict(cls, data: dict[str, str | None]) -> Window:
        since = data.get("since")
        return cls(parse_time(since, "since") if since else None, parse_time(str(data["until"]), "until"),
                   str(data["kind"]))


def iso(moment: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``, as Pipedrive's v2 filters take it (whole seconds)."""
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str, name: str) -> datetime:
    """An ISO 8601 time (a date alone means its midnight, UTC when no offset is given)."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise WindowError(f"{name}={text!r} is not an ISO 8601 time; e.g. 2026-11-01 or 2026-11-01T08:00:00Z") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def extraction_window(*, run_after: datetime, watermark: datetime | None, full_refresh: bool = False,
                      since: str | None = None, until: str | None = None,
                      lag: timedelta = DEFAULT_LAG) -> Window:
    """The window one entity's extraction covers in one run.

    ``run_after`` is when the run was due (Airflow's ``dag_run.run_after``), fixed for the run, so a
    retried task extracts the same window as its first try.
    """
    run_after = run_after.astimezone(UTC)
    horizon = (run_after - lag).replace(microsecond=0)
    if since or until:
        if full_refresh:
            raise WindowError("full_refresh and a since/until backfill window exclude each other; give one")
        start = parse_time(since, "since") if since else None
        end = parse_time(until, "until") if until else horizon
        end = min(end, horizon)  # the future has no changes yet; the lag keeps in-flight writes out
        if start is not None and start >= end:
            raise WindowError(f"since ({iso(start)}) must be before until ({iso(end)})")
        return Window(start, end, "backfill")
    if full_refresh or watermark is None:
        return Window(None, horizon, "full")
    watermark = watermark.astimezone(UTC)
    # A run due before the watermark (a late retry of an old run) extracts an empty window.
    return Window(watermark, max(horizon, watermark), "incremental")


def requested_bounds(*, run_type: object, interval_start: datetime | None, interval_end: datetime | None,
                     since: str | None, until: str | None) -> tuple[str | None, str | None]:
    """The ``since``/``until`` a run asks for: its params, else a backfill run's data interval.

    ``airflow backfill create --from-date ... --to-date ...`` makes one run per schedule interval
    and passes no params; without this each of them would extract the (empty) window after the
    watermark. A backfill run therefore re-reads its own data interval, and like any
    ``since``/``until`` window it leaves the watermarks where they are. Params win when given.
    """
    kind = getattr(run_type, "value", run_type)  # Airflow's DagRunType, or its value
    if since or until or kind != "backfill" or interval_start is None or interval_end is None:
        return since or None, until or None
    return iso(interval_start), iso(interval_end)
