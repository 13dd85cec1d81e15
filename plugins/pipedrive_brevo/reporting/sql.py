"""The report's tables in a SQL database (``options.report.sql_conn_id``), for BI tools.

Each report table ``<name>`` becomes the table ``pipedrive_report_<name>`` (:data:`TABLE_PREFIX`)
in the connection's database (and ``schema``, else the connection's default schema). The tables
hold every report date side by side, keyed by ``report_date`` (a ``DATE``), so a BI tool can
chart a month of daily reports with one query.

**A date is replaced, atomically.** :func:`write_report_tables` writes all tables of one date in
ONE transaction: per table, lock it against other writers, delete that date's rows, insert the
new ones; then commit. A reader (under PostgreSQL's default READ COMMITTED, or stricter) sees
the old rows of the date until the commit and the new ones after it, never a mix and never a
gap; a failure anywhere (a lost connection, a value the column cannot take) rolls every table
back to the old rows. Other dates are never touched.

**Schema on first use.** A missing table is created with column types read from the frame's
dtypes (:func:`sql_type`: integers ``BIGINT``, floats ``DOUBLE PRECISION``, booleans
``BOOLEAN``, aware datetimes ``TIMESTAMP WITH TIME ZONE``, dates ``DATE``, else ``TEXT``; lists
and dicts are written as JSON text). A column the frame has and the table lacks is added
(``ALTER TABLE ... ADD COLUMN``, in the same transaction); a column the table has and the frame
lacks is left null for the new rows. Existing columns are never retyped or dropped.

The SQL is plain (double-quoted identifiers, ``information_schema``, the driver's placeholder)
and goes through the Airflow connection's own hook (``Connection.get_hook()``), so only the
``LOCK TABLE`` statement is PostgreSQL's; PostgreSQL is what the tests run against, for real.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

TABLE_PREFIX = "pipedrive_report_"
DATE_COLUMN = "report_date"
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
INSERT_CHUNK = 5000


class ReportSqlError(RuntimeError):
    """Writing the report tables failed; the database holds the rows it held before."""


def table_name(name: str) -> str:
    """``funnel`` → ``pipedrive_report_funnel``; a name that is not a plain identifier is refused."""
    if not _NAME.fullmatch(name) or len(TABLE_PREFIX + name) > 63:
        raise ValueError(f"report table {name!r} cannot name a SQL table: lower-case letters, digits and _ "
                         f"only, starting with a letter, at most {63 - len(TABLE_PREFIX)} characters")
    return TABLE_PREFIX + name


def quote(identifier: str) -> str:
    """A standard SQL quoted identifier (``"a""b"``)."""
    return '"' + identifier.replace('"', '""') + '"'


def sql_type(series: pd.Series) -> str:
    """The column type a frame column gets when its table is created."""
    if series.name == DATE_COLUMN:
        return "DATE"
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "BOOLEAN"
    if pd.api.types.is_integer_dtype(dtype):
        return "BIGINT"
    if pd.api.types.is_float_dtype(dtype):
        return "DOUBLE PRECISION"
    if isinstance(dtype, pd.DatetimeTZDtype):
        return "TIMESTAMP WITH TIME ZONE"
    if pd.api.types.is_datetime64_dtype(dtype):
        return "TIMESTAMP"
    values = series.dropna()
    if len(values) and values.map(lambda v: isinstance(v, dt.date) and not isinstance(v, dt.datetime)).all():
        return "DATE"
    return "TEXT"


def _cell(value: Any) -> Any:
    """A frame value as the DB driver takes it: None for NA, Python scalars, JSON text for lists."""
    if isinstance(value, (list, tuple, dict, np.ndarray)):
        return json.dumps(value.tolist() if isinstance(value, np.ndarray) else value, default=str,
                          ensure_ascii=False)
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _prepared(name: str, frame: pd.DataFrame, report_date: str) -> pd.DataFrame:
    """The frame with ``report_date`` set to the date written (refusing rows of another date)."""
    frame = frame.copy()
    if DATE_COLUMN in frame:
        dates = frame[DATE_COLUMN].dropna().astype(str).str[:10].unique()
        other = [d for d in dates if d != report_date]
        if other:
            raise ValueError(f"report table {name!r} has rows of report_date {other[0]}, not {report_date}: "
                             "a write replaces one date, so every row must be of that date")
    frame[DATE_COLUMN] = dt.date.fromisoformat(report_date)
    bad = [str(c) for c in frame.columns if not isinstance(c, str) or not _NAME.fullmatch(c)]
    if bad:
        raise ValueError(f"report table {name!r}: column(s) {', '.join(bad)} cannot name a SQL column "
                         "(lower-case letters, digits and _ only)")
    return frame


def _existing_columns(cursor: Any, placeholder: str, table: str, schema: str | None) -> list[str]:
    schema_test = f"table_schema = {placeholder}" if schema else "table_schema = current_schema()"
    cursor.execute(f"SELECT column_name FROM information_schema.columns WHERE table_name = {placeholder} "
                   f"AND {schema_test} ORDER BY ordinal_position", (table, schema) if schema else (table,))
    return [row[0] for row in cursor.fetchall()]


def _write_table(cursor: Any, placeholder: str, table: str, qualified: str, schema: str | None,
                 frame: pd.DataFrame, report_date: str) -> int:
    existing = _existing_columns(cursor, placeholder, table, schema)
    if not existing:
        columns = ", ".join(f"{quote(c)} {sql_type(frame[c])}" + (" NOT NULL" if c == DATE_COLUMN else "")
                            for c in frame.columns)
        cursor.execute(f"CREATE TABLE {qualified} ({columns})")
        cursor.execute(f"CREATE INDEX {quote(table + '_date')} ON {qualified} ({quote(DATE_COLUMN)})")
    else:
        for column in frame.columns:
            if column not in existing:
                cursor.execute(f"ALTER TABLE {qualified} ADD COLUMN {quote(column)} {sql_type(frame[column])}")
    # Writers of one table queue here; readers (ACCESS SHARE) go on reading the committed rows.
    cursor.execute(f"LOCK TABLE {qualified} IN SHARE ROW EXCLUSIVE MODE")
    cursor.execute(f"DELETE FROM {qualified} WHERE {quote(DATE_COLUMN)} = {placeholder}",
                   (dt.date.fromisoformat(report_date),))
    if len(frame):
        names = ", ".join(quote(c) for c in frame.columns)
        marks = ", ".join([placeholder] * len(frame.columns))
        statement = f"INSERT INTO {qualified} ({names}) VALUES ({marks})"
        rows = [tuple(_cell(v) for v in row) for row in frame.itertuples(index=False, name=None)]
        for start in range(0, len(rows), INSERT_CHUNK):
            cursor.executemany(statement, rows[start:start + INSERT_CHUNK])
    return len(frame)


def write_report_tables(conn_id: str, report_date: str, tables: Mapping[str, pd.DataFrame], *,
                        schema: str | None = None) -> dict[str, int]:
    """Replace ``report_date``'s rows of every table in one transaction; returns rows written per table.

    ``tables``: report name → frame (``build_report``'s dict). ``schema``: where the tables live
    (None: the connection's default schema, ``public`` on PostgreSQL). Raises
    :class:`ReportSqlError` naming the table when the database refuses a statement; nothing of
    the write is kept then.
    """
    if not isinstance(report_date, str) or not _DATE.fullmatch(report_date):
        raise ValueError(f"report_date must be a date as YYYY-MM-DD, not {report_date!r}")
    dt.date.fromisoformat(report_date)  # a real day
    if schema is not None and not _NAME.fullmatch(schema):
        raise ValueError(f"schema {schema!r} is not a plain SQL identifier (lower-case letters, digits and _)")
    prepared = {name: (table_name(name), _prepared(name, frame, report_date)) for name, frame in tables.items()}

    from airflow.sdk import BaseHook

    hook = BaseHook.get_connection(conn_id).get_hook()
    placeholder = getattr(hook, "placeholder", "%s")
    written: dict[str, int] = {}
    conn = hook.get_conn()
    try:
        cursor = conn.cursor()
        for name, (table, frame) in prepared.items():
            qualified = f"{quote(schema)}.{quote(table)}" if schema else quote(table)
            try:
                written[name] = _write_table(cursor, placeholder, table, qualified, schema, frame, report_date)
            except Exception as exc:
                raise ReportSqlError(f"writing report table {name!r} ({table}) for {report_date} to connection "
                                     f"{conn_id!r} failed, nothing was changed: {type(exc).__name__}: "
                                     f"{str(exc).strip()}") from exc
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.close()
    return written
