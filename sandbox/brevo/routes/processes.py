"""``POST /v3/contacts/import``, ``GET /v3/processes[/{id}]`` and the import reports.

A completed import lists its CSV reports in ``info.import`` as URLs, or null where it rejected no
row of that kind. The sandbox serves them itself at ``/__reports/{processId}/{kind}.csv``: like
Brevo's download links they need no api-key and are not rate-limited.
"""

from __future__ import annotations

from typing import Any

from sandbox.brevo import errors
from sandbox.brevo.imports import REPORT_KINDS, plan_import, run_import
from sandbox.brevo.params import int_arg, path_int, sort_arg
from sandbox.brevo.processes import COMPLETED, Process
from sandbox.brevo.state import BrevoState
from sandbox.server import Request, Response

REPORTS_PREFIX = "/__reports/"


def process_view(process: Process, base_url: str) -> dict[str, Any]:
    body: dict[str, Any] = {"id": process.id, "name": process.name, "status": process.status}
    if process.import_info and process.status == COMPLETED:
        body["info"] = {"import": {
            kind: (f"{base_url}{REPORTS_PREFIX}{process.id}/{kind}.csv" if kind in process.reports else None)
            for kind in REPORT_KINDS}}
    return body


def base_url(request: Request) -> str:
    """Where this sandbox is reached, as the client sees it (reports are linked absolutely)."""
    return f"http://{request.header('host', '127.0.0.1')}"


def register(app: Any, state: BrevoState) -> None:
    account = state.account

    @app.route("POST", "/v3/contacts/import")
    def import_contacts(request: Request) -> Response:
        body = errors.json_body(request)
        plan, new_list = plan_import(body, len(request.body), state.config.max_import_bytes)
        with account.lock:
            missing = sorted(plan.list_ids - set(account.lists))
            if missing:
                errors.invalid(f"listIds: list(s) {missing} do not exist")
            if new_list is not None:
                folder_id = new_list.get("folderId", 1)
                if folder_id not in account.folders:
                    errors.invalid("newList.folderId: Folder ID does not exist")
                plan.list_ids.add(account.add_list(new_list["listName"].strip(), folder_id).id)
        actor = account.actor()  # the import runs on another thread: keep who asked for it

        def job() -> Any:
            with account.acting_as(actor):
                return run_import(account, plan)

        process = state.processes.submit("IMPORTUSER", job, import_info=True, fail=state.take_import_failure())
        return Response.json({"processId": process.id}, status=202)

    @app.route("GET", "/v3/processes")
    def list_processes(request: Request) -> Response:
        limit = int_arg(request, "limit", default=10, minimum=1, maximum=50)
        offset = int_arg(request, "offset", default=0)
        descending = sort_arg(request)
        processes = sorted(state.processes.all(), key=lambda p: p.id, reverse=descending)
        url = base_url(request)
        return Response.json({"processes": [process_view(p, url) for p in processes[offset:offset + limit]],
                              "count": len(processes)})

    @app.route("GET", "/v3/processes/{processId}")
    def get_process(request: Request) -> Response:
        process = state.processes.get(path_int(request, "processId"))
        if process is None:
            errors.not_found("Process does not exist")
        return Response.json(process_view(process, base_url(request)))

    @app.route("GET", REPORTS_PREFIX + "{processId}/{report}")
    def get_report(request: Request) -> Response:
        process = state.processes.get(path_int(request, "processId"))
        kind = request.path_params["report"].removesuffix(".csv")
        if process is None or kind not in process.reports:
            errors.not_found("Report does not exist")
        return Response.text(process.reports[kind], content_type="text/csv; charset=utf-8")
