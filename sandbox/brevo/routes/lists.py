"""``/v3/contacts/lists`` and ``/v3/contacts/folders``, and list membership by chunks.

``.../contacts/add`` and ``.../contacts/remove`` take exactly one of ``emails``, ``ids`` or
``extIds`` with 1-150 items (remove also ``{"all": true}``). They answer 201 with the items that
changed in ``success`` and the rest in ``failure``; when nothing changed Brevo answers 400
"Contact already in list and/or doesn't exist" (add) or "Contact already removed from list and/or
does not exist" (remove).
"""

from __future__ import annotations

from typing import Any

from sandbox.brevo import errors
from sandbox.brevo.params import int_arg, path_int, sort_arg, time_arg
from sandbox.brevo.state import BrevoState
from sandbox.brevo.store import Account, Contact, ContactList
from sandbox.brevo.values import iso_ms, normalize_email
from sandbox.server import Request, Response

MAX_MEMBERS_PER_CALL = 150
ALREADY_IN = "Contact already in list and/or doesn't exist"
ALREADY_OUT = "Contact already removed from list and/or does not exist"


def members_request(body: dict[str, Any], *, allow_all: bool) -> tuple[str, list[Any]]:
    """Which identifier kind a membership call uses, and its items, checked as Brevo checks them."""
    kinds = [k for k in ("emails", "ids", "extIds") if k in body]
    if allow_all and body.get("all") is True and not kinds:
        return "all", []
    if len(kinds) != 1:
        errors.invalid("Exactly one of emails, ids or extIds should be passed")
    kind = kinds[0]
    items = body[kind]
    if not isinstance(items, list):
        errors.invalid(f"{kind} should be type array")
    if not items:
        errors.invalid(f"{kind} should NOT have fewer than 1 items")
    if len(items) > MAX_MEMBERS_PER_CALL:
        errors.invalid(f"{kind} should NOT have more than {MAX_MEMBERS_PER_CALL} items")
    wanted = int if kind == "ids" else str
    for index, item in enumerate(items):
        if not isinstance(item, wanted) or isinstance(item, bool):
            errors.invalid(f"{kind}/{index} should be type {'integer' if wanted is int else 'string'}")
    return kind, items


def membership_answer(success: list[Any], failure: list[Any]) -> Response:
    """201 with the items that changed and those that did not. An empty array is left out: the
    spec types each as one of (emails, ids), and ``[]`` would be both."""
    contacts: dict[str, Any] = {"success": success}
    if failure:
        contacts["failure"] = failure
    contacts["total"] = len(success) + len(failure)
    return Response.json({"contacts": contacts}, status=201)


def find_member(account: Account, kind: str, item: Any) -> Contact | None:
    if kind == "ids":
        return account.get(item)
    if kind == "emails":
        email = normalize_email(item)
        return account.by_identifier("email", email) if email else None
    return account.by_identifier("ext_id", item)


def folder_of(account: Account, folder_id: Any) -> int:
    if not isinstance(folder_id, int) or isinstance(folder_id, bool):
        errors.invalid("folderId should be type integer")
    if folder_id not in account.folders:
        errors.invalid("Folder ID does not exist")
    return folder_id


def register(app: Any, state: BrevoState) -> None:
    account = state.account

    def the_list(request: Request) -> ContactList:
        contact_list = account.lists.get(path_int(request, "listId"))
        if contact_list is None:
            errors.not_found("List ID does not exist")
        return contact_list

    # ------------------------------------------------------------------ lists
    @app.route("GET", "/v3/contacts/lists")
    def get_lists(request: Request) -> Response:
        limit = int_arg(request, "limit", default=10, minimum=0, maximum=50)
        offset = int_arg(request, "offset", default=0)
        descending = sort_arg(request)
        with account.lock:
            lists = sorted(account.lists.values(), key=lambda cl: cl.id, reverse=descending)
            page = [account.list_view(cl) for cl in lists[offset:offset + limit]]
        return Response.json({"lists": page, "count": len(lists)})

    @app.route("POST", "/v3/contacts/lists")
    def create_list(request: Request) -> Response:
        body = errors.json_body(request)
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            errors.missing("List name is missing")
        if body.get("folderId") is None:
            errors.missing("Folder ID is missing")
        with account.lock:
            contact_list = account.add_list(name.strip(), folder_of(account, body["folderId"]))
        return Response.json({"id": contact_list.id}, status=201)

    @app.route("GET", "/v3/contacts/lists/{listId}")
    def get_list(request: Request) -> Response:
        with account.lock:
            contact_list = the_list(request)
            return Response.json({**account.list_view(contact_list), "createdAt": iso_ms(contact_list.created_ms),
                                  "campaignStats": [], "dynamicList": False})

    @app.route("PUT", "/v3/contacts/lists/{listId}")
    def update_list(request: Request) -> Response:
        body = errors.json_body(request)
        with account.lock:
            contact_list = the_list(request)
            if body.get("name") is not None:
                if not isinstance(body["name"], str) or not body["name"].strip():
                    errors.invalid("name should be a non-empty string")
                contact_list.name = body["name"].strip()
            if body.get("folderId") is not None:
                contact_list.folder_id = folder_of(account, body["folderId"])
        return Response.empty(204)

    @app.route("DELETE", "/v3/contacts/lists/{listId}")
    def delete_list(request: Request) -> Response:
        with account.lock:
            account.delete_list(the_list(request).id)
        return Response.empty(204)

    @app.route("GET", "/v3/contacts/lists/{listId}/contacts")
    def list_members(request: Request) -> Response:
        limit = int_arg(request, "limit", default=50, minimum=1, maximum=500)
        offset = int_arg(request, "offset", default=0)
        descending = sort_arg(request)
        modified_since = time_arg(request, "modifiedSince")
        with account.lock:
            contact_list = the_list(request)
            members = [account.contacts[i] for i in sorted(contact_list.members, reverse=descending)]
            if modified_since is not None:
                members = [c for c in members if c.modified_ms > modified_since]
            page = [account.view(c) for c in members[offset:offset + limit]]
        return Response.json({"contacts": page, "count": len(members)})

    @app.route("POST", "/v3/contacts/lists/{listId}/contacts/add")
    def add_members(request: Request) -> Response:
        body = errors.json_body(request)
        with account.lock:
            contact_list = the_list(request)
            kind, items = members_request(body, allow_all=False)
            success, failure = [], []
            for item in items:
                contact = find_member(account, kind, item)
                if contact is not None and account.link_lists(contact, {contact_list.id}):
                    success.append(item)
                else:
                    failure.append(item)
        if not success:
            errors.invalid(ALREADY_IN)
        return membership_answer(success, failure)

    @app.route("POST", "/v3/contacts/lists/{listId}/contacts/remove")
    def remove_members(request: Request) -> Response:
        body = errors.json_body(request)
        with account.lock:
            contact_list = the_list(request)
            kind, items = members_request(body, allow_all=True)
            if kind == "all":
                for contact_id in list(contact_list.members):
                    account.unlink_lists(account.contacts[contact_id], {contact_list.id})
                process = state.processes.submit("IMPORTUSER", None, import_info=False)
                return Response.json({"contacts": {"processId": process.id}}, status=201)
            success, failure = [], []
            for item in items:
                contact = find_member(account, kind, item)
                if contact is not None and account.unlink_lists(contact, {contact_list.id}):
                    success.append(item)
                else:
                    failure.append(item)
        if not success:
            errors.invalid(ALREADY_OUT)
        return membership_answer(success, failure)

    # ------------------------------------------------------------------ folders
    def the_folder(request: Request) -> int:
        folder_id = path_int(request, "folderId")
        if folder_id not in account.folders:
            errors.not_found("Folder ID does not exist")
        return folder_id

    @app.route("GET", "/v3/contacts/folders")
    def get_folders(request: Request) -> Response:
        limit = int_arg(request, "limit", default=10, minimum=0, maximum=50)
        offset = int_arg(request, "offset", default=0)
        descending = sort_arg(request)
        with account.lock:
            folders = sorted(account.folders.values(), key=lambda f: f.id, reverse=descending)
            page = [account.folder_view(f) for f in folders[offset:offset + limit]]
        return Response.json({"folders": page, "count": len(folders)})

    @app.route("POST", "/v3/contacts/folders")
    def create_folder(request: Request) -> Response:
        body = errors.json_body(request)
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            errors.missing("Folder name is missing")
        with account.lock:
            folder = account.add_folder(name.strip())
        return Response.json({"id": folder.id}, status=201)

    @app.route("GET", "/v3/contacts/folders/{folderId}")
    def get_folder(request: Request) -> Response:
        with account.lock:
            return Response.json(account.folder_view(account.folders[the_folder(request)]))

    @app.route("PUT", "/v3/contacts/folders/{folderId}")
    def update_folder(request: Request) -> Response:
        body = errors.json_body(request)
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            errors.missing("Folder name is missing")
        with account.lock:
            account.folders[the_folder(request)].name = name.strip()
        return Response.empty(204)

    @app.route("DELETE", "/v3/contacts/folders/{folderId}")
    def delete_folder(request: Request) -> Response:
        with account.lock:
            account.delete_folder(the_folder(request))
        return Response.empty(204)

    @app.route("GET", "/v3/contacts/folders/{folderId}/lists")
    def folder_lists(request: Request) -> Response:
        limit = int_arg(request, "limit", default=10, minimum=0, maximum=50)
        offset = int_arg(request, "offset", default=0)
        descending = sort_arg(request)
        with account.lock:
            folder_id = the_folder(request)
            lists = sorted((cl for cl in account.lists.values() if cl.folder_id == folder_id),
                           key=lambda cl: cl.id, reverse=descending)
            page = [account.list_view(cl) for cl in lists[offset:offset + limit]]
        return Response.json({"lists": page, "count": len(lists)})
