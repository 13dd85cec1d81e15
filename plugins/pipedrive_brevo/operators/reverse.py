"""Operators of ``brevo_to_pipedrive``: read what changed in Brevo, write it to Pipedrive.

Thin like :mod:`.sync`: each builds its hook and data location, calls one function of
:mod:`pipedrive_brevo.reverse_apply` and passes a path and counts through XCom. Heavy imports
happen inside ``execute`` so that parsing the DAG stays cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowFailException

from pipedrive_brevo.operators.extract import _flag


class BrevoChangesOperator(BaseOperator):
    """Read the contacts modified in Brevo since the watermark and the pending Brevo webhooks.

    :param full_refresh: ignore the watermark and read every contact.
    :param brevo_conn_id: the Airflow connection of the Brevo account.
    :param data_location: where runs keep their files; default ``PIPEDRIVE_BREVO_DATA``.
    """

    template_fields: Sequence[str] = ("full_refresh", "brevo_conn_id", "data_location")

    def __init__(self, *, full_refresh: bool | str = False, brevo_conn_id: str = "brevo_default",
                 data_location: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.full_refresh = full_refresh
        self.brevo_conn_id = brevo_conn_id
        self.data_location = data_location

    def execute(self, context: Context) -> dict[str, Any]:
        from pipedrive_brevo.config import load_mapping
        from pipedrive_brevo.hooks.brevo import BrevoHook
        from pipedrive_brevo.reverse_apply import read_changes
        from pipedrive_brevo.storage import DataLocation, run_key

        hook = BrevoHook(self.brevo_conn_id)
        counts = read_changes(hook, DataLocation(self.data_location), load_mapping(), run_key(self.dag_id, context["run_id"]),
                              full_refresh=_flag(self.full_refresh))
        self.log.info("Brevo changes: %s", counts)
        return counts


class PipedrivePersonWriteOperator(BaseOperator):
    """Decide and write the mapped person fields (only the plan and summary in a dry run).

    :param changes: what :class:`BrevoChangesOperator` returned.
    :param dry_run: write ``runs/<run_id>/reverse_plan.parquet`` and the summary, nothing to Pipedrive.
    :param full_refresh: also re-apply contacts already applied at the same ``modifiedAt``.
    :param pipedrive_conn_id: the Airflow connection of the Pipedrive account.
    :param data_location: where runs keep their files; default ``PIPEDRIVE_BREVO_DATA``.
    """

    template_fields: Sequence[str] = ("changes", "dry_run", "full_refresh", "pipedrive_conn_id", "data_location")

    def __init__(self, *, changes: dict[str, Any] | str, dry_run: bool | str = False,
                 full_refresh: bool | str = False, pipedrive_conn_id: str = "pipedrive_default",
                 data_location: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.changes = changes
        self.dry_run = dry_run
        self.full_refresh = full_refresh
        self.pipedrive_conn_id = pipedrive_conn_id
        self.data_location = data_location

    def execute(self, context: Context) -> dict[str, Any]:
        from pipedrive_brevo import sync_lease
        from pipedrive_brevo.config import MappingError, load_mapping
        from pipedrive_brevo.hooks.pipedrive import PipedriveHook
        from pipedrive_brevo.reverse_apply import apply_changes
        from pipedrive_brevo.storage import DataLocation, run_key

        changes = self.changes["changes"] if isinstance(self.changes, dict) else self.changes
        hook = PipedriveHook(self.pipedrive_conn_id)
        store = DataLocation(self.data_location)
        dry_run = _flag(self.dry_run)
        # The writes are reflected into the forward sync state and the persons snapshot: hold the
        # forward sync's lease meanwhile, so a plan or load of pipedrive_to_brevo never interleaves.
        key = run_key(self.dag_id, context["run_id"])
        holder = sync_lease.holder_of(self.dag_id, key)
        if not dry_run:
            sync_lease.wait_and_acquire(store, holder, log=self.log)
        try:
            summary = apply_changes(hook, store, load_mapping(), key, changes, dry_run=dry_run,
                                    full_refresh=_flag(self.full_refresh))
        except MappingError as exc:  # a configuration mistake: retrying cannot help
            raise AirflowFailException(str(exc)) from exc
        finally:
            if not dry_run:
                sync_lease.release(store, holder)
        self.log.info("Brevo → Pipedrive: %s", summary)
        return {k: summary[k] for k in ("written", "incomplete", "dry_run")}
