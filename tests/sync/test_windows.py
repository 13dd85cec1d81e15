from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipedrive_brevo.windows import (
    Window,
    WindowError,
    extraction_window,
    iso,
    parse_time,
)

RUN = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
LAG = timedelta(minutes=2)
HORIZON = datetime(2026, 11, 24, 9, 58, tzinfo=UTC)


def test_first_run_is_full_up_to_the_lagged_run_time():
    w = extraction_window(run_after=RUN, watermark=None)
    assert w == Window(None, HORIZON, "full") and w.moves_watermark


def test_scheduled_run_starts_at_the_watermark_not_its_data_interval():
    watermark = datetime(2026, 11, 24, 6, 58, tzinfo=UTC)  # three hourly runs were skipped
    w = extraction_window(run_after=RUN, watermark=watermark)
    assert (w.since, w.until, w.kind) == (watermark, HORIZON, "incremental")


def test_full_refresh_ignores_the_watermark():
    w = extraction_window(run_after=RUN, watermark=HORIZON - timedelta(hours=1), full_refresh=True)
    assert w == Window(None, HORIZON, "full")


def test_backfill_window_is_exact_and_keeps_the_watermark():
    w = extraction_window(run_after=RUN, watermark=HORIZON, since="2026-11-01", until="2026-11-02T12:00:00+02:00")
    assert w.since == datetime(2026, 11, 1, tzinfo=UTC)
    assert w.until == datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    assert w.kind == "backfill" and not w.moves_watermark


def test_backfill_end_is_capped_at_the_horizon_and_since_alone_runs_to_it():
    assert extraction_window(run_after=RUN, watermark=None, since="2026-11-20").until == HORIZON
    assert extraction_window(run_after=RUN, watermark=None, until="2030-01-01").until == HORIZON


@pytest.mark.parametrize("kwargs, message", [
    ({"since": "2026-11-05", "until": "2026-11-01"}, "must be before"),
    ({"since": "yesterday"}, "not an ISO 8601 time"),
    ({"since": "2026-11-01", "full_refresh": True}, "exclude each other"),
])
def test_bad_windows_say_what_would_be_valid(kwargs, message):
    with pytest.raises(WindowError, match=message):
        extraction_window(run_after=RUN, watermark=None, **kwargs)


def test_a_late_retry_of_an_old_run_extracts_an_empty_window():
    w = extraction_window(run_after=RUN - timedelta(hours=5), watermark=HORIZON)
    assert w.since == w.until == HORIZON


def test_round_trip_and_rfc3339_format():
    w = Window(parse_time("2026-11-01T08:00:00.123456Z", "since"), HORIZON, "backfill")
    assert Window.from_dict(w.to_dict()) == Window(w.since.replace(microsecond=0), HORIZON, "backfill")
    assert iso(HORIZON) == "2026-11-24T09:58:00Z"
