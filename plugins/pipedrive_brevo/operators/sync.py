"""Operators of the Brevo side of a run: prepare Brevo, plan, load.

Thin on purpose, like :mod:`.extract`: each reads its templated arguments, builds a hook and a
:class:`~pipedrive_brevo.storage.DataLocation`, calls one function (:mod:`pipedrive_brevo.brevo_setup`,
:mod:`pipedrive_brevo.planning`, :mod:`pipedrive_brevo.load`) and records its figures for the
run summary. They pass paths and small dicts through XCom, never frames. Heavy imports happen
inside ``execute`` so that parsing the DAG stays cheap.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowFailException

from pipedrive_brevo.operators.extract import _flag


class BrevoPrepareOperator(BaseOperator):
    """Check the mapped lists exist, create missing attributes, read list members to mirror.

    :param dry_run: read only: create nothing (the plan shows what would be sent).
    :param full_refresh: also re-read the mapped lists' members (as on a first sync).
    :param brevo_conn_id: the Airflow connection of the Brevo account.
    :param data_location: where runs keep their files; default ``PIPEDRIVE_BREVO_DATA``.
    """

    template_fields: Sequence[str] = ("dry_run", "full_refresh", "brevo_conn_id", "data_location")

    def __init__(self, *, dry_run: bool | str = False, full_refresh: bool | str = False,
                 brevo_conn_id: str = "brevo_default", data_location: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dry_run = dry_run
        self.full_refresh = full_refresh
        self.brevo_conn_id = brevo_conn_id
        self.data_location = data_location

    def execute(self, context: Context) -> dict[str, Any]:
        from pipedrive_brevo import brevo_setup, sync_state
        from pipedrive_brevo.config import MappingError, load_mapping
        from pipedrive_brevo.desired_state import specs_for
        from pipedrive_brevo.hooks.brevo import BrevoHook
        from pipedrive_brevo.run_summary import record_task
        from pipedrive_brevo.storage import DataLocation, safe
        from pipedrive_brevo.transform.lists import mapped_lists

        store = DataLocation(self.data_location)
        mapping = load_mapping()
        run_id = context["run_id"]
        hook = BrevoHook(self.brevo_conn_id)
        started = time.monotonic()
        try:
            brevo_setup.check_lists(mapping, hook.get_lists())
        except brevo_setup.MissingListError as exc:  # a configuration mistake: retrying cannot help
            raise AirflowFailException(str(exc)) from exc
        types = brevo_setup.attribute_types(hook.get_attributes())
        try:
            specs = specs_for(mapping, store, types)
        except MappingError as exc:
            raise AirflowFailException(str(exc)) from exc
        created: dict[str, str] = {}
        if mapping.options.create_missing_attributes and not _flag(self.dry_run):
            created = brevo_setup.create_missing(hook, specs)
            types.update(created)
            if created:
                self.log.info("Created Brevo attributes: %s", created)
        org_attribute = None
        if "organizations" in mapping.pipedrive.sync.entities():
            org_attribute = brevo_setup.company_org_attribute(hook, create=not _flag(self.dry_run))
        base = f"runs/{safe(run_id)}/brevo"
        store.write_json(f"{base}/attributes.json", types)
        members = None
        if _flag(self.full_refresh) or not sync_state.has_synced(store):
            frame = brevo_setup.read_members(hook, mapped_lists(mapping))
            members = f"{base}/members.parquet"
            store.write_parquet(members, frame)
            self.log.info("Read %d members of the mapped lists to mirror them", len(frame))
        record_task(store, run_id, "prepare_brevo", api="brevo", stats=hook.stats.snapshot(),
                    duration_s=time.monotonic() - started,
                    extra={"summary": {"attributes_created": sorted(created)}})
        return {"attributes": f"{base}/attributes.json", "members": members, "company_org_attribute": org_attribute}


class SyncPlanOperator(BaseOperator):
    """Transform the snapshots into the desired Brevo state and diff it against the sync state.

    :param prepared: what :class:`BrevoPrepareOperator` returned (paths under the data location).
    :param dry_run: leave the sync state as it is (the plan and summary are still written).
    :param data_location: where runs keep their files; default ``PIPEDRIVE_BREVO_DATA``.
    """

    template_fields: Sequence[str] = ("prepared", "dry_run", "data_location")

    def __init__(self, *, prepared: dict[str, Any], dry_run: bool | str = False, data_location: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.prepared = prepared
        self.dry_run = dry_run
        self.data_location = data_location

    def execute(self, context: Context) -> dict[str, Any]:
        from pipedrive_brevo import sync_lease
        from pipedrive_brevo.config import load_mapping
        from pipedrive_brevo.planning import plan_run
        from pipedrive_brevo.run_summary import record_task
        from pipedrive_brevo.storage import DataLocation

        store = DataLocation(self.data_location)
        run_id = context["run_id"]
        # One run at a time plans and loads over the sync state (the hourly sync, the webhook run):
        # held from here until the load is over (sync_lease).
        holder = sync_lease.holder_of(self.dag_id, run_id)
        sync_lease.wait_and_acquire(store, holder, log=self.log)
        started = time.monotonic()
        members = store.read_parquet(self.prepared["members"]) if self.prepared.get("members") else None
        try:
            counts = plan_run(store, load_mapping(), run_id,
                              brevo_attributes=store.read_json(self.prepared["attributes"]),
                              members=members, dry_run=_flag(self.dry_run), run_after=context["dag_run"].run_after,
                              company_org_attribute=self.prepared.get("company_org_attribute"),
                              history_source="webhook" if self.dag_id == "pipedrive_webhook_events" else "sync")
        except BaseException:
            if sync_lease.final_try(context):
                sync_lease.release(store, holder)
            raise
        record_task(store, run_id, "plan", duration_s=time.monotonic() - started, extra={"summary": counts})
        self.log.info("Plan: %s", counts["plan"])
        return {"dry_run": _flag(self.dry_run), "plan": counts["plan"]}


class BrevoLoadOperator(BaseOperator):
    """Apply the run's plan to Brevo batch by batch (nothing in a dry run).

    :param dry_run: send nothing.
    :param batch_size: contacts per import and emails per list call group; the sync state is
        committed after each.
    :param brevo_conn_id: the Airflow connection of the Brevo account.
    :param data_location: where runs keep their files; default ``PIPEDRIVE_BREVO_DATA``.
    """

    template_fields: Sequence[str] = ("dry_run", "brevo_conn_id", "data_location")

    def __init__(self, *, dry_run: bool | str = False, batch_size: int = 5000, brevo_conn_id: str = "brevo_default",
                 data_location: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dry_run = dry_run
        self.batch_size = batch_size
        self.brevo_conn_id = brevo_conn_id
        self.data_location = data_location

    def execute(self, context: Context) -> dict[str, int] | None:
        from pipedrive_brevo import sync_lease
        from pipedrive_brevo.config import load_mapping
        from pipedrive_brevo.hooks.brevo import BrevoHook
        from pipedrive_brevo.load import load_run
        from pipedrive_brevo.run_summary import record_task
        from pipedrive_brevo.storage import DataLocation

        store = DataLocation(self.data_location)
        run_id = context["run_id"]
        holder = sync_lease.holder_of(self.dag_id, run_id)
        if _flag(self.dry_run):
            self.log.info("Dry run: nothing is sent to Brevo; the plan is runs/<run_id>/plan.parquet")
            record_task(store, run_id, "load", extra={"summary": {"load": {"dry_run": True}}})
            sync_lease.release(store, holder)
            return None
        from pipedrive_brevo import notifications

        mapping = load_mapping()
        hook = BrevoHook(self.brevo_conn_id)
        started = time.monotonic()

        def batch_completed(kind: str, counts: dict[str, int]) -> None:
            if mapping.options.notify is not None and "batch_completed" in mapping.options.notify.events:
                notifications.send(mapping.options.notify, "batch_completed", notifications.payload(
                    "batch_completed", dag_id=self.dag_id, run_id=run_id, details={"batch": kind, "counts": counts}))

        try:
            counts = load_run(hook, store, mapping, run_id, batch_size=int(self.batch_size), on_batch=batch_completed)
        except BaseException:
            if sync_lease.final_try(context):  # a retry keeps the lease: its desired state is this run's
                sync_lease.release(store, holder)
            raise
        else:
            sync_lease.release(store, holder)
        finally:
            from pipedrive_brevo.load import progress_path

            done = store.read_json(progress_path(run_id), default={}) or {}
            record_task(store, run_id, "load", api="brevo", stats=hook.stats.snapshot(),
                        duration_s=time.monotonic() - started, extra={"summary": {"load": done}})
        self.log.info("Load: %s", counts)
        return counts
