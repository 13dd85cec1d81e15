"""BrevoHook: Brevo's API v3 as the loaders use it: bulk first, paced per bucket, nothing lost.

* Auth: the connection's password is the API key, sent in the ``api-key`` header.
* Contacts go in bulk through ``POST /contacts/import`` in chunks under 8 MB of JSON; each import
  is followed to its end by polling ``GET /processes/{id}`` (the 100-per-hour bucket, so slowly,
  with backoff) and its CSV reports are read back into the rows that were rejected, with reasons.
* Single-contact calls repair what an import rejected; an SMS that is invalid or held by another
  contact is dropped and the write retried, the phone reported (the email part is never lost).
* List membership in chunks of 150; Brevo's 400 "already in list and/or doesn't exist" is an
  answer, not an error. Events in batches of at most 200 events and 512 KB; a 207 reports exactly
  which events failed. Companies through their CSV import and link-unlink.
* Pacing from ``x-sib-ratelimit-*`` per bucket (contacts, events, other), see :class:`BrevoDialect`.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any
from urllib.parse import quote

from airflow.sdk import BaseHook

from pipedrive_brevo.hooks.brevo_reports import ImportRejection, match_rejections
from pipedrive_brevo.hooks.chunking import chunk_by_json_size, chunked, envelope_bytes
from pipedrive_brevo.hooks.connection import (
    ConnectionConfigError,
    base_url_from_connection,
)
from pipedrive_brevo.http import (
    ApiDialect,
    ApiError,
    BadRequestError,
    CallStats,
    HeaderAuth,
    HttpClient,
    InvalidResponseError,
    NotFoundError,
    RetryPolicy,
    ServerError,
    TransportError,
    shared_pacer,
)
from pipedrive_brevo.redaction import register_secret

DEFAULT_URL = "https://api.brevo.com"
API = "/v3"
IMPORT_CHUNK_BYTES = 8_000_000  # Brevo: 10 MB maximum, "a safe limit of around 8 MB"
EVENTS_PER_BATCH = 200
EVENTS_BATCH_BYTES = 512_000  # "at most 512 KB" (read as the smaller, decimal, kilobyte)
MEMBERS_PER_CALL = 150
CONTACTS_PAGE = 1000
LISTS_PAGE = 50
ATTRIBUTE_TYPES = ("text", "date", "float", "boolean", "id", "category", "multiple-choice", "user")
IDENTIFIER_TYPES = ("email_id", "contact_id", "ext_id", "phone_id", "whatsapp_id", "landline_number_id")
ALREADY_IN_LIST = "already in list"
ALREADY_REMOVED = "already removed"
FINISHED = ("completed", "failed", "cancelled")


class BrevoDialect(ApiDialect):
    """Brevo's per-bucket ``x-sib-ratelimit-*`` headers and ``{code, message}`` errors.

    Buckets (research §7): every ``/v3/contacts...`` path counts in the contacts bucket,
    ``/v3/events...`` in the events bucket (``/events/batch`` too: it is not in Brevo's table, and
    the headers are what counts), everything else under ``/v3`` in the "other" bucket (100 per hour
    on the General tier). The window the pacer keeps is the per-second one; an hourly window is
    honoured through ``remaining``/``reset``.
    """

    name = "Brevo"
    limit_header = "x-sib-ratelimit-limit"
    remaining_header = "x-sib-ratelimit-remaining"
    reset_header = "x-sib-ratelimit-reset"
    request_id_headers = ("sib-request-id", "x-sib-request-id", "x-request-id")

    def __init__(self, window_s: float = 1.0):
        self.window_s = window_s  # the per-second window Brevo's RPS limits count in

    def limit_key(self, method: str, path: str) -> str | None:
        marker = path.find(API + "/")
        if marker < 0:
            return None  # not an API path (an import report download): not rate-limited
        rest = path[marker + len(API):]
        for bucket in ("contacts", "events"):
            if rest == f"/{bucket}" or rest.startswith(f"/{bucket}/"):
                return bucket
        return "other"


# ------------------------------------------------------------------------------- results
@dataclass
class ImportResult:
    """One import chunk: its process, how it ended, and the rows Brevo rejected."""

    process_id: int
    status: str  # completed | failed | cancelled
    first_index: int  # position of the chunk's first row among all rows given
    rows: int
    rejected: list[ImportRejection] = field(default_factory=list)
    attempts: int = 1


@dataclass
class ContactWrite:
    """The outcome of a single-contact create or update."""

    contact_id: int | None  # Brevo answers an id on create only
    created: bool
    dropped_sms: str | None = None  # the phone left out because Brevo refused it
    sms_problem: str | None = None  # Brevo's reason for refusing it


@dataclass
class MembershipResult:
    """List add/remove: ``changed`` moved; ``unchanged`` were already so, or are no contact."""

    changed: list[Any] = field(default_factory=list)
    unchanged: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class RejectedEvent:
    index: int
    event: Mapping[str, Any]
    message: str


@dataclass
class EventBatchResult:
    """What happened to each event given to :meth:`BrevoHook.send_events`, by index.

    ``rejected``: Brevo refused them (a 207 or 400 names them): re-queue after fixing.
    ``uncertain``: the call failed after it went out (5xx, timeout, unreadable 207): Brevo may
    have recorded them; sending again may duplicate them. ``unsent``: never sent, because
    ``error`` stopped the run (rate limit, auth...): safe to send later.
    """

    accepted: list[int] = field(default_factory=list)
    rejected: list[RejectedEvent] = field(default_factory=list)
    uncertain: list[int] = field(default_factory=list)
    unsent: list[int] = field(default_factory=list)
    error: ApiError | None = None
    calls: int = 0

    @property
    def ok(self) -> bool:
        return not (self.rejected or self.uncertain or self.unsent)


class ProcessTimeoutError(TimeoutError):
    """A Brevo process did not finish within the allowed time."""


# ---------------------------------------------------------------------------------- hook
class BrevoHook(BaseHook):
    """Talks to Brevo through the connection ``brevo_conn_id`` (API key in the password).

    ``process_poll_s``/``process_poll_max_s``/``process_timeout_s`` shape the polling of import
    processes (first wait, backoff ceiling, give up); ``rate_window_s`` is the window of the
    per-second limits (tests shrink it with the sandbox's); the others tune the HTTP layer.
    """

    conn_name_attr = "brevo_conn_id"
    default_conn_name = "brevo_default"
    conn_type = "http"
    hook_name = "Brevo"

    def __init__(self, brevo_conn_id: str = default_conn_name, *, retry: RetryPolicy | None = None,
                 timeout: tuple[float, float] = (10.0, 120.0), max_wait_s: float = 120.0,
                 process_poll_s: float = 2.0, process_poll_max_s: float = 60.0,
                 process_timeout_s: float = 3600.0, rate_window_s: float = 1.0, pool_size: int = 8,
                 sleep: Callable[[float], None] = time.sleep):
        super().__init__()
        self.brevo_conn_id = brevo_conn_id
        self.retry = retry
        self.timeout = timeout
        self.max_wait_s = max_wait_s
        self.process_poll_s = process_poll_s
        self.process_poll_max_s = process_poll_max_s
        self.process_timeout_s = process_timeout_s
        self.rate_window_s = rate_window_s
        self.pool_size = pool_size
        self._sleep = sleep

    # ------------------------------------------------------------------ connection & session
    def _settings(self) -> tuple[str, str]:
        """Read the Airflow connection: (base URL, https unless loopback; API key)."""
        conn = self.get_connection(self.brevo_conn_id)
        base_url = base_url_from_connection(conn.host, conn.port, conn.schema, self.brevo_conn_id,
                                            default_url=DEFAULT_URL, strip_suffixes=(API,))
        if not conn.password:
            raise ConnectionConfigError(f"connection {self.brevo_conn_id!r} has no API key: put it in the password")
        register_secret(conn.password)
        return base_url, conn.password

    @cached_property
    def client(self) -> HttpClient:
        base_url, api_key = self._settings()
        dialect = BrevoDialect(self.rate_window_s)
        pacer = shared_pacer(base_url, api_key, dialect.window_s, max_wait_s=self.max_wait_s)
        return HttpClient(base_url, dialect, HeaderAuth("api-key", api_key), pacer=pacer, retry=self.retry,
                          timeout=self.timeout, pool_size=self.pool_size)

    @property
    def stats(self) -> CallStats:
        return self.client.stats

    def test_connection(self) -> tuple[bool, str]:
        try:
            attributes = self.get_attributes()
        except (ApiError, ConnectionConfigError) as exc:
            return False, str(exc)
        return True, f"Connected to Brevo ({len(attributes)} contact attributes)"

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.client.request(method, API + path, **kwargs).data

    # ---------------------------------------------------------------------- contacts import
    def import_contacts(self, rows: Iterable[Mapping[str, Any]], *, list_ids: Sequence[int],
                        update_existing: bool = True, empty_attributes: bool = False,
                        max_chunk_bytes: int = IMPORT_CHUNK_BYTES, failed_retries: int = 1) -> list[ImportResult]:
        """Import ``rows`` (``{"email": ..., "attributes": {"EXT_ID": ..., "SMS": ..., ...}}``).

        The rows are sent in chunks under ``max_chunk_bytes`` of JSON, all chunks first (Brevo
        queues them), then every process is followed to its end and its reports are read. A
        process that ends ``failed`` is imported again, up to ``failed_retries`` times: an import
        is an upsert, so sending the same rows twice leaves the same contacts.

        Give each contact once: Brevo reports a repeated email, ext_id or SMS only within one
        import file; across chunks the later row silently updates the contact the earlier made.
        """
        if not list_ids:
            raise ValueError("list_ids is mandatory for a Brevo import (every imported contact joins them)")
        envelope = {"listIds": [int(i) for i in list_ids], "updateExistingContacts": update_existing,
                    "emptyContactsAttributes": empty_attributes}
        all_rows = [dict(row) for row in rows]
        overhead = envelope_bytes(envelope, "jsonBody")
        chunks: list[tuple[int, list[dict[str, Any]]]] = []
        position = 0
        for chunk in chunk_by_json_size(all_rows, max_bytes=max_chunk_bytes, overhead_bytes=overhead):
            chunks.append((position, chunk))
            position += len(chunk)
        pending = {self._submit_import(envelope, chunk): (first, chunk, 1) for first, chunk in chunks}
        results: list[ImportResult] = []
        while pending:
            finished = self.wait_for_processes(list(pending))
            retry: dict[int, tuple[int, list[dict[str, Any]], int]] = {}
            for process_id, process in finished.items():
                first, chunk, attempt = pending[process_id]
                status = str(process.get("status"))
                if status != "completed" and attempt <= failed_retries:
                    self.log.warning("Brevo import process %s ended %s; importing its %d rows again",
                                     process_id, status, len(chunk))
                    retry[self._submit_import(envelope, chunk)] = (first, chunk, attempt + 1)
                    continue
                rejected = self._read_reports(process, chunk, first) if status == "completed" else []
                results.append(ImportResult(process_id, status, first, len(chunk), rejected, attempt))
            pending = retry
        results.sort(key=lambda r: r.first_index)
        return results

    def _submit_import(self, envelope: Mapping[str, Any], chunk: list[dict[str, Any]]) -> int:
        # Idempotent by nature (an upsert of the same rows), so it may be retried after a 5xx.
        body = self._request("POST", "/contacts/import", json_body={**envelope, "jsonBody": chunk}, idempotent=True)
        return int(body["processId"])

    def get_process(self, process_id: int) -> dict[str, Any]:
        return self._request("GET", f"/processes/{int(process_id)}") or {}

    def wait_for_processes(self, process_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """Poll until every process is completed, failed or cancelled; returns each one's last state.

        Polls are spaced from ``process_poll_s`` growing 1.5x per round up to ``process_poll_max_s``
        (``/processes`` sits in the 100-per-hour bucket); gives up after ``process_timeout_s``.
        """
        waiting = [int(p) for p in process_ids]
        done: dict[int, dict[str, Any]] = {}
        deadline = time.monotonic() + self.process_timeout_s
        pause = self.process_poll_s
        while waiting:
            self._sleep(pause)
            for process_id in list(waiting):
                process = self.get_process(process_id)
                if process.get("status") in FINISHED:
                    done[process_id] = process
                    waiting.remove(process_id)
            if waiting and time.monotonic() + pause > deadline:
                raise ProcessTimeoutError(f"Brevo process(es) {waiting} not finished after "
                                          f"{self.process_timeout_s:.0f}s")
            pause = min(self.process_poll_max_s, pause * 1.5)
        return done

    def _read_reports(self, process: Mapping[str, Any], chunk: list[dict[str, Any]], first: int) -> list[ImportRejection]:
        reports: dict[str, str] = {}
        links = ((process.get("info") or {}).get("import") or {})
        for kind, url in links.items():
            if isinstance(url, str) and url.startswith(("http://", "https://")):
                reports[kind] = self.client.request("GET", url, expect_json=False).text
        return match_rejections(chunk, reports, first)

    # ---------------------------------------------------------------------- single contacts
    def create_contact(self, *, email: str | None = None, ext_id: str | int | None = None,
                       attributes: Mapping[str, Any] | None = None, list_ids: Sequence[int] = (),
                       update_enabled: bool = True, email_blacklisted: bool | None = None,
                       sms_blacklisted: bool | None = None) -> ContactWrite:
        """``POST /contacts`` (an upsert with ``update_enabled``), without SMS if Brevo refuses it."""

        def send(attrs: Mapping[str, Any] | None) -> ContactWrite:
            body = _compact({"email": email, "ext_id": None if ext_id is None else str(ext_id),
                             "attributes": dict(attrs) if attrs else None, "listIds": list(list_ids) or None,
                             "updateEnabled": update_enabled, "emailBlacklisted": email_blacklisted,
                             "smsBlacklisted": sms_blacklisted})
            # An upsert may be retried (same outcome twice); a plain create may not.
            data = self._request("POST", "/contacts", json_body=body, idempotent=update_enabled)
            contact_id = data.get("id") if isinstance(data, dict) else None
            return ContactWrite(contact_id, contact_id is not None)

        return self._with_sms_fallback(send, attributes)

    def update_contact(self, identifier: str | int, *, identifier_type: str | None = None,
                       attributes: Mapping[str, Any] | None = None, ext_id: str | int | None = None,
                       list_ids: Sequence[int] = (), unlink_list_ids: Sequence[int] = (),
                       email_blacklisted: bool | None = None, sms_blacklisted: bool | None = None) -> ContactWrite:
        """``PUT /contacts/{identifier}`` (by email, id or ext_id), without SMS if Brevo refuses it."""

        def send(attrs: Mapping[str, Any] | None) -> ContactWrite:
            body = _compact({"attributes": dict(attrs) if attrs else None,
                             "ext_id": None if ext_id is None else str(ext_id),
                             "listIds": list(list_ids) or None, "unlinkListIds": list(unlink_list_ids) or None,
                             "emailBlacklisted": email_blacklisted, "smsBlacklisted": sms_blacklisted})
            self._request("PUT", _contact_path(identifier), params=_id_type(identifier_type), json_body=body)
            return ContactWrite(int(identifier) if identifier_type == "contact_id" else None, False)

        return self._with_sms_fallback(send, attributes)

    def delete_contact(self, identifier: str | int, *, identifier_type: str | None = None) -> bool:
        """Delete a contact; False when there was none (already gone is what was wanted)."""
        try:
            self._request("DELETE", _contact_path(identifier), params=_id_type(identifier_type))
        except NotFoundError:
            return False
        return True

    def get_contact(self, identifier: str | int, *, identifier_type: str | None = None) -> dict[str, Any] | None:
        try:
            return self._request("GET", _contact_path(identifier), params=_id_type(identifier_type))
        except NotFoundError:
            return None

    def _with_sms_fallback(self, send: Callable[[Mapping[str, Any] | None], ContactWrite],
                           attributes: Mapping[str, Any] | None) -> ContactWrite:
        try:
            return send(attributes)
        except BadRequestError as exc:
            sms_key = next((k for k in (attributes or {}) if str(k).upper() == "SMS"), None)
            if sms_key is None or not _is_sms_problem(exc):
                raise
            phone = (attributes or {})[sms_key]
            self.log.warning("Brevo refused the SMS of a contact (%s); writing it without SMS", exc.vendor_message)
            result = send({k: v for k, v in (attributes or {}).items() if k != sms_key})
            result.dropped_sms = None if phone is None else str(phone)
            result.sms_problem = exc.vendor_message or exc.code
            return result

    def iter_contacts(self, *, modified_since: datetime | str | None = None, list_ids: Sequence[int] = (),
                      limit: int = CONTACTS_PAGE, offset: int = 0) -> Iterator[list[dict[str, Any]]]:
        """Pages of ``GET /contacts`` (the reverse direction), oldest-created first.

        Ascending creation order keeps earlier pages stable while contacts are created during the
        scan; a contact modified during the scan may still be missed, so overlap the windows.
        """
        while True:
            params = _compact({"limit": limit, "offset": offset, "sort": "asc",
                               "modifiedSince": _brevo_time(modified_since),
                               "listIds": ",".join(str(i) for i in list_ids) or None})
            body = self._request("GET", "/contacts", params=params) or {}
            contacts = list(body.get("contacts") or [])
            yield contacts
            offset += len(contacts)
            if len(contacts) < limit or offset >= int(body.get("count") or 0):
                return

    # ----------------------------------------------------------------------- attributes
    def get_attributes(self) -> list[dict[str, Any]]:
        return list((self._request("GET", "/contacts/attributes") or {}).get("attributes") or [])

    def create_attribute(self, name: str, attribute_type: str, *, options: Sequence[str] = ()) -> bool:
        """Create a contact attribute in the category its type needs; False if it already existed.

        ``category`` attributes live in the *category* category with ``options`` as their
        enumeration (values 1..n); ``id`` ones are *transactional*; everything else is *normal*,
        ``multiple-choice`` with ``options`` as its choices.
        """
        if attribute_type not in ATTRIBUTE_TYPES:
            raise ValueError(f"attribute type {attribute_type!r} is not one of {', '.join(ATTRIBUTE_TYPES)}")
        category = {"category": "category", "id": "transactional"}.get(attribute_type, "normal")
        body: dict[str, Any] = {"type": attribute_type}
        if attribute_type == "category":
            if not options:
                raise ValueError("a category attribute needs its options")
            body["enumeration"] = [{"value": i, "label": label} for i, label in enumerate(options, start=1)]
        if attribute_type == "multiple-choice":
            if not options:
                raise ValueError("a multiple-choice attribute needs its options")
            body["multiCategoryOptions"] = list(options)
        try:
            # Idempotent in effect: a retried create finds the attribute there and says so.
            self._request("POST", f"/contacts/attributes/{category}/{quote(name, safe='')}", json_body=body,
                          idempotent=True, expect_json=False)
        except BadRequestError as exc:
            if "unique" in (exc.vendor_message or "").lower() or "exist" in (exc.vendor_message or "").lower():
                return False
            raise
        return True

    # ------------------------------------------------------------------- lists & folders
    def _offset_pages(self, path: str, key: str, limit: int) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        offset = 0
        while True:
            body = self._request("GET", path, params={"limit": limit, "offset": offset, "sort": "asc"}) or {}
            page = list(body.get(key) or [])
            found.extend(page)
            offset += len(page)
            if len(page) < limit or offset >= int(body.get("count") or 0):
                return found

    def get_lists(self) -> list[dict[str, Any]]:
        return self._offset_pages("/contacts/lists", "lists", LISTS_PAGE)

    def get_folders(self) -> list[dict[str, Any]]:
        return self._offset_pages("/contacts/folders", "folders", LISTS_PAGE)

    def create_folder(self, name: str) -> int:
        return int(self._request("POST", "/contacts/folders", json_body={"name": name})["id"])

    def create_list(self, name: str, folder_id: int) -> int:
        return int(self._request("POST", "/contacts/lists", json_body={"name": name, "folderId": int(folder_id)})["id"])

    def iter_list_contacts(self, list_id: int, *, modified_since: datetime | str | None = None,
                           limit: int = 500) -> Iterator[list[dict[str, Any]]]:
        """Pages of a list's members (to mirror a list on a first run)."""
        offset = 0
        while True:
            params = _compact({"limit": limit, "offset": offset, "sort": "asc",
                               "modifiedSince": _brevo_time(modified_since)})
            body = self._request("GET", f"/contacts/lists/{int(list_id)}/contacts", params=params) or {}
            contacts = list(body.get("contacts") or [])
            yield contacts
            offset += len(contacts)
            if len(contacts) < limit or offset >= int(body.get("count") or 0):
                return

    def add_to_list(self, list_id: int, *, emails: Sequence[str] = (), ids: Sequence[int] = (),
                    ext_ids: Sequence[str] = ()) -> MembershipResult:
        return self._membership(list_id, "add", emails, ids, ext_ids)

    def remove_from_list(self, list_id: int, *, emails: Sequence[str] = (), ids: Sequence[int] = (),
                         ext_ids: Sequence[str] = ()) -> MembershipResult:
        return self._membership(list_id, "remove", emails, ids, ext_ids)

    def _membership(self, list_id: int, action: str, emails: Sequence[str], ids: Sequence[int],
                    ext_ids: Sequence[str]) -> MembershipResult:
        given = [(k, list(v)) for k, v in (("emails", emails), ("ids", ids), ("extIds", ext_ids)) if v]
        if len(given) != 1:
            raise ValueError("pass exactly one of emails, ids or ext_ids")
        kind, items = given[0]
        if kind == "extIds":
            items = [str(i) for i in items]
        result = MembershipResult()
        nothing_changed = ALREADY_IN_LIST if action == "add" else ALREADY_REMOVED
        for chunk in chunked(items, MEMBERS_PER_CALL):
            try:
                # Membership is a set: adding or removing twice ends the same, so retries are safe.
                body = self._request("POST", f"/contacts/lists/{int(list_id)}/contacts/{action}",
                                     json_body={kind: chunk}, idempotent=True) or {}
            except BadRequestError as exc:
                if nothing_changed not in (exc.vendor_message or "").lower():
                    raise
                result.unchanged.extend(chunk)  # Brevo's 400 when not one item changed
                continue
            contacts = body.get("contacts") or {}
            result.changed.extend(contacts.get("success") or [])
            result.unchanged.extend(contacts.get("failure") or [])
        return result

    # ---------------------------------------------------------------------------- events
    def send_events(self, events: Sequence[Mapping[str, Any]]) -> EventBatchResult:
        """Send events through ``POST /events/batch``, at most 200 and 512 KB a call.

        Never retried after the request went out (an event sent twice is counted twice), and
        never raises for an API error: the result tells, per event, what Brevo accepted, refused,
        may have recorded, or never saw, so that a run can record what went out before an error.
        """
        result = EventBatchResult()
        batches: list[list[tuple[int, dict[str, Any]]]] = []
        position = 0
        for batch in chunk_by_json_size([dict(e) for e in events], max_bytes=EVENTS_BATCH_BYTES,
                                        max_items=EVENTS_PER_BATCH, overhead_bytes=envelope_bytes({}, "events")):
            batches.append(list(enumerate(batch, start=position)))
            position += len(batch)
        for number, batch in enumerate(batches):
            self._send_event_batch(batch, result)
            if result.error is not None:
                for later in batches[number + 1:]:
                    result.unsent.extend(i for i, _ in later)
                break
        return result

    def _send_event_batch(self, batch: list[tuple[int, dict[str, Any]]], result: EventBatchResult) -> None:
        indexes = [i for i, _ in batch]
        result.calls += 1
        try:
            response = self.client.request("POST", API + "/events/batch", json_body={"events": [e for _, e in batch]},
                                           idempotent=False, expect_json=False)
        except BadRequestError as exc:
            if exc.status == 400:
                failed = _event_errors(exc.body, len(batch))
                for position, (index, event) in enumerate(batch):
                    message = failed.get(position) or exc.vendor_message or "refused"
                    result.rejected.append(RejectedEvent(index, event, message))
                return
            result.error = exc
            result.unsent.extend(indexes)
            return
        except (ServerError, TransportError, InvalidResponseError) as exc:
            result.error = exc
            (result.uncertain if exc.may_have_been_applied else result.unsent).extend(indexes)
            return
        except ApiError as exc:
            result.error = exc
            result.unsent.extend(indexes)
            return
        if response.status == 207:
            body = response.data
            if not isinstance(body, dict):
                result.error = InvalidResponseError("Brevo POST /v3/events/batch answered 207 with an unreadable "
                                                    "body: which events failed is unknown", vendor="Brevo",
                                                    status=207, may_have_been_applied=True)
                result.uncertain.extend(indexes)
                return
            failed = _event_errors(body, len(batch))
            for position, (index, event) in enumerate(batch):
                if position in failed:
                    result.rejected.append(RejectedEvent(index, event, failed[position]))
                else:
                    result.accepted.append(index)
            return
        result.accepted.extend(indexes)  # 202 (or 204): all queued; the body is not needed

    # ---------------------------------------------------------------------------- companies
    def create_company(self, name: str, *, attributes: Mapping[str, Any] | None = None,
                       linked_contact_ids: Sequence[int] = ()) -> str:
        body = _compact({"name": name, "attributes": dict(attributes) if attributes else None,
                         "linkedContactsIds": list(linked_contact_ids) or None})
        return str(self._request("POST", "/companies", json_body=body)["id"])

    def get_company(self, company_id: str) -> dict[str, Any] | None:
        try:
            return self._request("GET", f"/companies/{quote(company_id, safe='')}")
        except NotFoundError:
            return None

    def iter_companies(self, *, limit: int = 100, **filters: Any) -> Iterator[list[dict[str, Any]]]:
        """Pages of ``GET /companies``; ``filters`` as ``attributes.<name>=value`` pairs go on the wire
        as ``filters[attributes.<name>]`` (the 2026 form)."""
        page = 1
        while True:
            params: dict[str, Any] = {"page": page, "limit": limit, "sort": "asc"}
            params.update({f"filters[{k}]": v for k, v in filters.items()})
            body = self._request("GET", "/companies", params=params) or {}
            items = list(body.get("items") or [])
            yield items
            total = int((body.get("pager") or {}).get("total") or 0)
            if len(items) < limit or page * limit >= total:
                return
            page += 1

    def link_company(self, company_id: str, *, link_contact_ids: Sequence[int] = (),
                     unlink_contact_ids: Sequence[int] = ()) -> None:
        """Add and remove contact links (a PATCH of the company itself would replace them all)."""
        body = _compact({"linkContactIds": list(link_contact_ids) or None,
                         "unlinkContactIds": list(unlink_contact_ids) or None})
        # Links are a set: the same link-unlink twice ends the same, so it may be retried.
        self._request("PATCH", f"/companies/link-unlink/{quote(company_id, safe='')}", json_body=body,
                      idempotent=True, expect_json=False)

    def get_company_attributes(self) -> list[dict[str, Any]]:
        return list(self._request("GET", "/crm/attributes/companies") or [])

    def create_company_attribute(self, label: str, attribute_type: str, *, options: Sequence[str] = ()) -> str:
        body = _compact({"label": label, "attributeType": attribute_type, "objectType": "companies",
                         "optionsLabels": list(options) or None})
        return str(self._request("POST", "/crm/attributes", json_body=body)["id"])

    def import_companies(self, rows: Sequence[Mapping[str, Any]], *, link_entities: bool = True,
                         unlink_entities: bool = False, update_existing_records: bool = True,
                         unset_empty_attributes: bool = False, wait: bool = True) -> dict[str, Any]:
        """``POST /companies/import`` of ``rows`` (attribute internal names, plus ``company_id`` to
        update and ``associated_contact`` to link) as a CSV; returns the process' last state.

        Re-importing the same rows with ``company_id`` updates the same companies; rows without
        it create companies, so a caller retries such an import only after checking the process.
        """
        columns: list[str] = []
        for row in rows:
            columns.extend(k for k in row if k not in columns)
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";", lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["|".join(map(str, v)) if isinstance(v, (list, tuple)) else ("" if v is None else v)
                             for v in (row.get(c) for c in columns)])
        mapping = {"link_entities": link_entities, "unlink_entities": unlink_entities,
                   "update_existing_records": update_existing_records, "unset_empty_attributes": unset_empty_attributes}
        files = {"file": ("companies.csv", out.getvalue().encode("utf-8"), "text/csv"),
                 "mapping": (None, json.dumps(mapping))}
        body = self._request("POST", "/companies/import", files=files)
        process_id = int(body["processId"])
        if not wait:
            return {"id": process_id, "status": "queued"}
        return self.wait_for_processes([process_id])[process_id]


# ------------------------------------------------------------------------------- helpers
def _compact(values: Mapping[str, Any]) -> dict[str, Any]:
    """Drop unset fields: Brevo reads an explicit null differently from an absent field."""
    return {k: v for k, v in values.items() if v is not None}


def _contact_path(identifier: str | int) -> str:
    return f"/contacts/{quote(str(identifier), safe='')}"


def _id_type(identifier_type: str | None) -> dict[str, str] | None:
    if identifier_type is None:
        return None
    if identifier_type not in IDENTIFIER_TYPES:
        raise ValueError(f"identifier_type must be one of {', '.join(IDENTIFIER_TYPES)}")
    return {"identifierType": identifier_type}


def _brevo_time(value: datetime | str | None) -> str | None:
    """``YYYY-MM-DDTHH:mm:ss.SSSZ`` in UTC, as Brevo's ``modifiedSince`` wants it."""
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is None:
        raise ValueError("pass an aware (UTC) datetime")
    moment = value.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _is_sms_problem(error: BadRequestError) -> bool:
    """Brevo refused the SMS: invalid number, or held by another contact."""
    message = (error.vendor_message or "").lower()
    metadata = (error.body or {}).get("metadata") if isinstance(error.body, dict) else None
    duplicates = [str(x).lower() for x in ((metadata or {}).get("duplicate_identifiers") or [])]
    if error.code == "invalid_parameter":
        return "phone" in message or "sms" in message
    if error.code == "duplicate_parameter":
        return duplicates == ["sms"] or (not duplicates and "sms" in message and "ext_id" not in message
                                         and "email" not in message)
    return False


def _event_errors(body: Any, size: int) -> dict[int, str]:
    """``{position in batch: message}`` from a 207/400 body's ``errors[].eventIndex``."""
    failed: dict[int, str] = {}
    entries = body.get("errors") if isinstance(body, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        message = str(entry.get("message") or "refused")
        for index in entry.get("eventIndex") or []:
            if isinstance(index, int) and 0 <= index < size:
                failed.setdefault(index, message)
    return failed
