"""The operator that writes ``runs/<run_id>/summary.json`` and logs it readably."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator, Context


class RunSummaryOperator(BaseOperator):
    """Add up what every task of the run recorded; keep it beside the run's other files.

    :param data_location: where runs keep their files; default ``PIPEDRIVE_BREVO_DATA``.
    """

    template_fields: Sequence[str] = ("data_location",)

    def __init__(self, *, data_location: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_location = data_location

    def execute(self, context: Context) -> str:
        from pipedrive_brevo.run_summary import build_summary, format_summary
        from pipedrive_brevo.storage import DataLocation, safe

        store = DataLocation(self.data_location)
        run_id = context["run_id"]
        summary = build_summary(store, run_id, params=dict(context["params"]))
        path = store.write_json(f"runs/{safe(run_id)}/summary.json", summary)
        self.log.info("\n%s", format_summary(summary))
        return path
