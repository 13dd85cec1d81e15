"""The report tables in a real PostgreSQL (started by tests/reports/conftest.py)."""

from __future__ import annotations

import datetime as dt
import threading

import pandas as pd
import pytest

from pipedrive_brevo.reporting import sql
from tests.reports.conftest import CONN_ID

UTC = dt.UTC


def funnel(day: str, entered: list[int], *, extra: dict | None = None) -> pd.DataFrame:
    frame = pd.DataFrame({
        "report_date": day,
        "stage_id": pd.Series(range(1, len(entered) + 1), dtype="Int64"),
        "stage_name": pd.Series([f"Stage {i}" for i in range(1, len(entered) + 1)], dtype="string"),
        "entered": pd.Series(entered, dtype="int64"),
        "conversion_rate": [0.5] * len(entered),
        "is_final": [False] * (len(entered) - 1) + [True],
        "first_entered_at": pd.Series([pd.Timestamp("2026-11-01T09:30:00Z")] * len(entered)),
    })
    for name, values in (extra or {}).items():
        frame[name] = values
    return frame


def revenue(day: str, values: list[float | None]) -> pd.DataFrame:
    return pd.DataFrame({"report_date": day, "source": [f"s{i}" for i in range(len(values))],
                         "value_base": values, "tags": [["a", "b"]] * len(values)})


def rows(postgres, schema: str, table: str, order: str = "1") -> list[tuple]:
    with postgres.connect() as conn:
        return conn.execute(f'SELECT * FROM "{schema}"."pipedrive_report_{table}" ORDER BY {order}').fetchall()


def column_types(postgres, schema: str, table: str) -> dict[str, str]:
    with postgres.connect() as conn:
        found = conn.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = %s "
                             "AND table_name = %s ORDER BY ordinal_position",
                             (schema, f"pipedrive_report_{table}")).fetchall()
    return dict(found)


def test_tables_are_created_with_types_and_rows(postgres, pg_schema):
    written = sql.write_report_tables(CONN_ID, "2026-11-23", {"funnel": funnel("2026-11-23", [10, 4, 1]),
                                                              "revenue_by_source": revenue("2026-11-23", [1.5, None])},
                                      schema=pg_schema)
    assert written == {"funnel": 3, "revenue_by_source": 2}
    assert column_types(postgres, pg_schema, "funnel") == {
        "report_date": "date", "stage_id": "bigint", "stage_name": "text", "entered": "bigint",
        "conversion_rate": "double precision", "is_final": "boolean",
        "first_entered_at": "timestamp with time zone"}
    first = rows(postgres, pg_schema, "funnel", "stage_id")[0]
    assert first == (dt.date(2026, 11, 23), 1, "Stage 1", 10, 0.5, False, dt.datetime(2026, 11, 1, 9, 30, tzinfo=UTC))
    assert rows(postgres, pg_schema, "revenue_by_source", "source") == [
        (dt.date(2026, 11, 23), "s0", 1.5, '["a", "b"]'), (dt.date(2026, 11, 23), "s1", None, '["a", "b"]')]


def test_a_rerun_replaces_its_date_and_keeps_the_others(postgres, pg_schema):
    sql.write_report_tables(CONN_ID, "2026-11-22", {"funnel": funnel("2026-11-22", [7, 3])}, schema=pg_schema)
    sql.write_report_tables(CONN_ID, "2026-11-23", {"funnel": funnel("2026-11-23", [10, 4, 1])}, schema=pg_schema)
    assert sql.write_report_tables(CONN_ID, "2026-11-23", {"funnel": funnel("2026-11-23", [11, 5])},
                                   schema=pg_schema) == {"funnel": 2}
    got = [(r[0].isoformat(), r[1], r[3]) for r in rows(postgres, pg_schema, "funnel", "report_date, stage_id")]
    assert got == [("2026-11-22", 1, 7), ("2026-11-22", 2, 3), ("2026-11-23", 1, 11), ("2026-11-23", 2, 5)]
    sql.write_report_tables(CONN_ID, "2026-11-22", {"funnel": funnel("2026-11-22", [1]).iloc[0:0]}, schema=pg_schema)
    assert [r[0].isoformat() for r in rows(postgres, pg_schema, "funnel")] == ["2026-11-23", "2026-11-23"]


def test_a_failure_mid_write_leaves_every_table_as_it_was(postgres, pg_schema):
    day = "2026-11-23"
    sql.write_report_tables(CONN_ID, day, {"funnel": funnel(day, [10, 4]), "revenue_by_source": revenue(day, [2.0])},
                            schema=pg_schema)
    before = {t: rows(postgres, pg_schema, t) for t in ("funnel", "revenue_by_source")}
    # The funnel's rows of the day are deleted and rewritten first; then the revenue table refuses
    # a value (text into its DOUBLE PRECISION column): the whole write must roll back.
    broken = revenue(day, [3.0]).assign(value_base=["not a number"])
    with pytest.raises(sql.ReportSqlError) as info:
        sql.write_report_tables(CONN_ID, day, {"funnel": funnel(day, [99, 98, 97]), "revenue_by_source": broken},
                                schema=pg_schema)
    assert "'revenue_by_source'" in str(info.value) and "nothing was changed" in str(info.value)
    assert {t: rows(postgres, pg_schema, t) for t in before} == before


def test_readers_see_the_old_rows_until_the_commit(postgres, pg_schema, monkeypatch):
    day = "2026-11-23"
    sql.write_report_tables(CONN_ID, day, {"funnel": funnel(day, [10, 4])}, schema=pg_schema)
    seen: list = []
    original = sql._write_table

    def slow_write(cursor, *args, **kwargs):
        written = original(cursor, *args, **kwargs)  # deleted and re-inserted, not committed yet
        reader = threading.Thread(target=lambda: seen.append(
            [r[3] for r in rows(postgres, pg_schema, "funnel", "stage_id")]))
        reader.start()
        reader.join(10)
        return written

    monkeypatch.setattr(sql, "_write_table", slow_write)
    sql.write_report_tables(CONN_ID, day, {"funnel": funnel(day, [99, 98, 97])}, schema=pg_schema)
    assert seen == [[10, 4]]  # mid-write, another session still reads the old rows
    assert [r[3] for r in rows(postgres, pg_schema, "funnel", "stage_id")] == [99, 98, 97]


def test_new_columns_are_added_and_old_rows_keep_null(postgres, pg_schema):
    sql.write_report_tables(CONN_ID, "2026-11-22", {"funnel": funnel("2026-11-22", [7])}, schema=pg_schema)
    sql.write_report_tables(CONN_ID, "2026-11-23", {"funnel": funnel("2026-11-23", [8], extra={"weighted": [2.5]})},
                            schema=pg_schema)
    assert column_types(postgres, pg_schema, "funnel")["weighted"] == "double precision"
    assert [(r[0].isoformat(), r[-1]) for r in rows(postgres, pg_schema, "funnel", "report_date")] == [
        ("2026-11-22", None), ("2026-11-23", 2.5)]


def test_the_default_schema_is_the_connections(postgres):
    sql.write_report_tables(CONN_ID, "2026-11-23", {"velocity": pd.DataFrame({"report_date": ["2026-11-23"],
                                                                              "median_days": [3.0]})})
    with postgres.connect() as conn:
        assert conn.execute("SELECT median_days FROM public.pipedrive_report_velocity").fetchall() == [(3.0,)]
        conn.execute("DROP TABLE public.pipedrive_report_velocity")


@pytest.mark.parametrize(("date", "tables", "says"), [
    ("23.11.2026", {"funnel": funnel("2026-11-23", [1])}, "report_date must be a date as YYYY-MM-DD"),
    ("2026-11-23", {"funnel": funnel("2026-11-22", [1])}, "has rows of report_date 2026-11-22, not 2026-11-23"),
    ("2026-11-23", {"Funnel; DROP": funnel("2026-11-23", [1])}, "cannot name a SQL table"),
    ("2026-11-23", {"funnel": funnel("2026-11-23", [1]).rename(columns={"entered": "Entered count"})},
     "column(s) Entered count cannot name a SQL column"),
])
def test_bad_input_is_refused_before_touching_the_database(date, tables, says):
    with pytest.raises(ValueError, match=None) as info:
        sql.write_report_tables("no_such_connection", date, tables)
    assert says in str(info.value)
