"""Operators of the pipeline report DAG: fill the stage history, build, export, write to SQL.

Thin, like the sync's operators: each reads its templated arguments, builds a
:class:`~pipedrive_brevo.storage.DataLocation` (and a hook where it talks to an API), calls one
function of :mod:`pipedrive_brevo.reporting` (or :mod:`pipedrive_brevo.deal_flow`) and records its
figures under ``runs/<run_key>/tasks/`` (``run_key``: ``pipedrive_pipeline_report.<run_id>``, since the
daily run shares its run id with the sync's midnight run). Tables travel between tasks as Parquet under
``runs/<run_key>/report/``; XCom carries only the date and row counts. pandas, pyarrow and
matplotlib are imported inside ``execute``, never when the DAG is parsed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException


def _budget(value: int | str | None) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError) as exc:
        raise AirflowFailException(f"token_budget must be a whole number of tokens, found {value!r}") from exc


class StageHistoryFillOperator(BaseOperator):
    """Fill the stage history of deals older than the project from Pipedrive's deal flow.

    Skipped when the budget is 0 (the default: ``options.report.deal_flow_budget``), so a report
    run makes no Pipedrive call unless asked to.

    :param token_budget: Pipedrive tokens this run may spend; None reads the mapping's
        ``options.report.deal_flow_budget``.
    :param pipedrive_conn_id: the Airflow connection of the Pipedrive account.
    :param data_location: where runs keep their files; default ``PIPEDRIVE_BREVO_DATA``.
    """

    template_fields: Sequence[str] = ("token_budget", "pipedrive_conn_id", "data_location")

    def __init__(self, *, token_budget: int | str | None = None, pipedrive_conn_id: str = "pipedrive_default",
                 data_location: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.token_budget = token_budget
        self.pipedrive_conn_id = pipedrive_conn_id
        self.data_location = data_location

    def execute(self, context: Context) -> dict[str, Any]:
        from pipedrive_brevo.config import load_mapping

        budget = _budget(self.token_budget if self.token_budget not in (None, "", "None")
                         else load_mapping().options.report.deal_flow_budget)
        if budget <= 0:
            raise AirflowSkipException("options.report.deal_flow_budget is 0: the deal flow is not read")
        from pipedrive_brevo.deal_flow import fill_history
        from pipedrive_brevo.hooks.pipedrive import PipedriveHook
        from pipedrive_brevo.run_summary import record_task
        from pipedrive_brevo.storage import DataLocation, run_key

        store = DataLocation(self.data_location)
        hook = PipedriveHook(self.pipedrive_conn_id)
        started = time.monotonic()
        result = fill_history(hook, store, run_key(self.dag_id, context["run_id"]), token_budget=budget)
        record_task(store, run_key(self.dag_id, context["run_id"]), self.task_id, api="pipedrive", stats=hook.stats.snapshot(),
                    duration_s=round(time.monotonic() - started, 3), extra={"deal_flow": result})
        self.log.info("Deal flow: %s", result)
        return result


class PipelineReportOperator(BaseOperator):
    """Build the report tables of one date from the data location (no API call).

    :param report_date: ``YYYY-MM-DD``; empty: the last day of the run's data interval
        (see :func:`pipedrive_brevo.reporting.as_of.report_date_of_run`).
    :param data_location: where runs keep their files; default ``PIPEDRIVE_BREVO_DATA``.
    """

    template_fields: Sequence[str] = ("report_date", "data_location")

    def __init__(self, *, report_date: str | None = None, data_location: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.report_date = report_date
        self.data_location = data_location

    def execute(self, context: Context) -> dict[str, Any]:
        from pipedrive_brevo.config import load_mapping
        from pipedrive_brevo.reporting.as_of import report_date_of_run
        from pipedrive_brevo.reporting.build import build_report_from, save_tables
        from pipedrive_brevo.run_summary import record_task
        from pipedrive_brevo.storage import DataLocation, run_key

        dag_run = context["dag_run"]
        requested = self.report_date if self.report_date not in (None, "", "None") else None
        try:
            day = report_date_of_run(requested, interval_start=getattr(dag_run, "data_interval_start", None),
                                     interval_end=getattr(dag_run, "data_interval_end", None),
                                     run_after=getattr(dag_run, "run_after", None))
        except ValueError as exc:
            raise AirflowFailException(f"report_date: {exc}") from exc
        store = DataLocation(self.data_location)
        if not store.exists("snapshots/deals.parquet"):
            raise AirflowFailException(f"{store.path('snapshots/deals.parquet')} does not exist: the report reads "
                                       "the sync's snapshots, run pipedrive_to_brevo (with deals enabled) first")
        started = time.monotonic()
        tables = build_report_from(store, load_mapping(), day)
        rows = save_tables(store, run_key(self.dag_id, context["run_id"]), tables)
        deals = tables["deals_attribution"]
        unpriced = deals.loc[deals["rate_missing"], "currency"].fillna("(none)").value_counts().to_dict()
        if unpriced:
            self.log.warning("%d deals are in a currency with no rate in options.currency (%s): their value_base "
                             "is null and they are left out of every base-currency sum", sum(unpriced.values()),
                             ", ".join(f"{code} {n}" for code, n in sorted(unpriced.items())))
        record_task(store, run_key(self.dag_id, context["run_id"]), self.task_id, duration_s=round(time.monotonic() - started, 3),
                    extra={"report_date": day, "rows": rows, "deals_without_rate": unpriced})
        self.log.info("Report of %s: %s", day, ", ".join(f"{n} {r} rows" for n, r in rows.items()))
        return {"report_date": day, "rows": rows}


class ReportExportOperator(BaseOperator):
    """Publish ``reports/<date>/``: tables (``options.report.formats``), charts and ``index.html``.

    :param built: what the build task returned (``report_date``, ``rows``).
    :param data_location: where runs keep their files; default ``PIPEDRIVE_BREVO_DATA``.
    """

    template_fields: Sequence[str] = ("built", "data_location")

    def __init__(self, *, built: Any, data_location: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.built = built
        self.data_location = data_location

    def execute(self, context: Context) -> dict[str, Any]:
        from pipedrive_brevo.config import load_mapping
        from pipedrive_brevo.reporting.build import load_tables
        from pipedrive_brevo.reporting.charts import render_charts
        from pipedrive_brevo.reporting.exports import write_exports
        from pipedrive_brevo.run_summary import record_task
        from pipedrive_brevo.storage import DataLocation, run_key

        store = DataLocation(self.data_location)
        mapping = load_mapping()
        started = time.monotonic()
        tables = load_tables(store, run_key(self.dag_id, context["run_id"]))
        manifest = write_exports(store, self.built["report_date"], tables, formats=mapping.options.report.formats,
                                 charts=render_charts(tables), base_currency=mapping.options.currency.base,
                                 run_id=run_key(self.dag_id, context["run_id"]))
        record_task(store, run_key(self.dag_id, context["run_id"]), self.task_id, duration_s=round(time.monotonic() - started, 3),
                    extra={"report_date": manifest["report_date"], "version": manifest["version"]})
        self.log.info("Published %s (version %s): %s", store.path(f"reports/{manifest['report_date']}"),
                      manifest["version"], ", ".join(manifest["files"]))
        return {"report_date": manifest["report_date"], "version": manifest["version"],
                "files": sorted(manifest["files"])}


class ReportSqlOperator(BaseOperator):
    """Write the report tables to a database for BI tools; skipped without a connection.

    :param built: what the build task returned (``report_date``, ``rows``).
    :param sql_conn_id: the Airflow connection; None reads ``options.report.sql_conn_id``.
    :param schema: the database schema (None: the connection's default).
    :param data_location: where runs keep their files; default ``PIPEDRIVE_BREVO_DATA``.
    """

    template_fields: Sequence[str] = ("built", "sql_conn_id", "schema", "data_location")

    def __init__(self, *, built: Any, sql_conn_id: str | None = None, schema: str | None = None,
                 data_location: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.built = built
        self.sql_conn_id = sql_conn_id
        self.schema = schema
        self.data_location = data_location

    def execute(self, context: Context) -> dict[str, int]:
        from pipedrive_brevo.config import load_mapping

        conn_id = self.sql_conn_id if self.sql_conn_id not in (None, "", "None") \
            else load_mapping().options.report.sql_conn_id
        if not conn_id:
            raise AirflowSkipException("options.report.sql_conn_id is not set: the report is written as files only")
        from pipedrive_brevo.reporting.build import load_tables
        from pipedrive_brevo.reporting.sql import write_report_tables
        from pipedrive_brevo.run_summary import record_task
        from pipedrive_brevo.storage import DataLocation, run_key

        store = DataLocation(self.data_location)
        key = run_key(self.dag_id, context["run_id"])
        started = time.monotonic()
        written = write_report_tables(conn_id, self.built["report_date"], load_tables(store, key),
                                      schema=self.schema or None)
        record_task(store, key, self.task_id, duration_s=round(time.monotonic() - started, 3),
                    extra={"report_date": self.built["report_date"], "sql_rows": written})
        self.log.info("Wrote %s to %s", written, conn_id)
        return written
