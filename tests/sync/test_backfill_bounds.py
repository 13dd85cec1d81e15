"""A run Airflow's backfill created extracts its data interval; params and other runs are left alone."""

from __future__ import annotations

from datetime import UTC, datetime

from pipedrive_brevo.windows import extraction_window, requested_bounds

START = datetime(2026, 11, 1, 8, tzinfo=UTC)
END = datetime(2026, 11, 1, 9, tzinfo=UTC)


def test_a_backfill_run_without_params_reads_its_data_interval():
    assert requested_bounds(run_type="backfill", interval_start=START, interval_end=END, since=None,
                            until=None) == ("2026-11-01T08:00:00Z", "2026-11-01T09:00:00Z")


def test_airflows_run_type_enum_is_understood():
    from airflow.utils.types import DagRunType

    assert requested_bounds(run_type=DagRunType.BACKFILL_JOB, interval_start=START, interval_end=END, since=None,
                            until=None) == ("2026-11-01T08:00:00Z", "2026-11-01T09:00:00Z")


def test_params_win_over_the_interval_and_other_runs_keep_theirs():
    assert requested_bounds(run_type="backfill", interval_start=START, interval_end=END, since="2026-10-01",
                            until=None) == ("2026-10-01", None)
    for run_type in ("scheduled", "manual", None):
        assert requested_bounds(run_type=run_type, interval_start=START, interval_end=END, since="",
                                until=None) == (None, None)


def test_the_backfill_window_is_a_backfill_and_keeps_the_watermark():
    since, until = requested_bounds(run_type="backfill", interval_start=START, interval_end=END, since=None,
                                    until=None)
    window = extraction_window(run_after=datetime(2026, 11, 24, tzinfo=UTC), watermark=END, since=since, until=until)
    assert (window.since, window.until, window.kind) == (START, END, "backfill")
    assert not window.moves_watermark
