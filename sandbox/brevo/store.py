"""The contacts side of one Brevo account: contacts, their attributes, lists and folders.

Contacts are indexed by id, email, ext_id and SMS so upserts and imports of 100k rows stay
O(rows). Every method takes the account's re-entrant lock, and a handler that needs several
steps to be atomic (look up, check, write) holds ``account.lock`` around them: the server is
threaded and imports are applied by a background thread.

Identifiers follow Brevo: an email, an SMS number and an ext_id each belong to one contact at
most. ``SMS`` and ``EXT_ID`` are attributes in Brevo's answers (``attributes.SMS``), but here they
are kept as identifiers and shown as attributes when a contact is rendered.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sandbox.brevo.config import AttributeSpec, BrevoConfig
from sandbox.brevo.values import (
    IGNORED,
    coerce,
    is_blank,
    iso_ms,
    normalize_phone,
    now_ms,
)

IDENTIFIER_TYPES = ("email_id", "contact_id", "ext_id", "phone_id", "whatsapp_id", "landline_number_id")


@dataclass(slots=True)
class Contact:
    id: int
    email: str | None
    ext_id: str | None
    sms: str | None
    attributes: dict[str, Any]
    list_ids: set[int]
    email_blacklisted: bool
    sms_blacklisted: bool
    created_ms: int
    modified_ms: int


@dataclass(slots=True)
class ContactList:
    id: int
    name: str
    folder_id: int
    created_ms: int
    members: set[int] = field(default_factory=set)


@dataclass(slots=True)
class Folder:
    id: int
    name: str


@dataclass
class TypedAttributes:
    """A request's ``attributes`` split into what Brevo keeps and the identifiers it carries.

    ``values`` maps an attribute name to its typed value, or to None to clear it. The
    identifiers are raw strings still to validate (None when absent from the request).
    """

    values: dict[str, Any]
    email: Any = None
    sms: Any = None
    ext_id: Any = None


class Account:
    """One account's contacts, attributes, lists and folders, safe to share between threads."""

    def __init__(self, config: BrevoConfig, clock_ms: Callable[[], int] = now_ms):
        self.lock = threading.RLock()
        self.now_ms = clock_ms
        self.contacts: dict[int, Contact] = {}
        self.by_email: dict[str, int] = {}
        self.by_ext_id: dict[str, int] = {}
        self.by_sms: dict[str, int] = {}
        self.attributes: dict[str, AttributeSpec] = {a.name.upper(): a for a in config.attributes}
        self.folders: dict[int, Folder] = {fid: Folder(fid, name) for fid, name in config.folders.items()}
        self.lists: dict[int, ContactList] = {}
        self._next_contact_id = 1
        self._next_list_id = 1
        self._next_folder_id = max(self.folders, default=0) + 1
        #: Called as ``listener(kind, contact, detail)`` after a change (``contact_updated`` with the
        #: changed attributes, ``unsubscribed``, ``list_addition``, ``contact_deleted``): the
        #: marketing webhooks (webhooks.py) hang here. Empty: changes cost nothing extra.
        self.listeners: list[Callable[[str, Contact, dict[str, Any]], None]] = []
        self._actor = threading.local()

    # ------------------------------------------------------------ who is changing things
    def actor(self) -> str:
        """The name of the API key making the current change; "" for the UI (admin routes)."""
        return getattr(self._actor, "name", "")

    @contextmanager
    def acting_as(self, name: str) -> Iterator[None]:
        """Changes made in this thread meanwhile are attributed to the API key named ``name``."""
        previous = self.actor()
        self._actor.name = name
        try:
            yield
        finally:
            self._actor.name = previous

    def _emit(self, kind: str, contact: Contact, detail: dict[str, Any]) -> None:
        for listener in self.listeners:
            listener(kind, contact, detail)

    # ------------------------------------------------------------ attributes
    def typed_attributes(self, raw: Any, *, from_text: bool = False, clear_blank: bool = True) -> TypedAttributes:
        """Read a request's ``attributes`` as Brevo does: names are case-insensitive; unknown
        attributes and values of the wrong type are dropped without an error.

        A blank value (null, "") clears the attribute when ``clear_blank``, else it is skipped.
        """
        typed = TypedAttributes({})
        if not isinstance(raw, dict):
            return typed
        for name, value in raw.items():
            key = str(name).upper()
            if key == "EMAIL":
                typed.email = value
                continue
            if key == "SMS":
                typed.sms = value
                continue
            if key == "EXT_ID":
                typed.ext_id = value
                continue
            spec = self.attributes.get(key)
            if spec is None:
                continue
            if is_blank(value):
                if clear_blank:
                    typed.values[key] = None
                continue
            stored = coerce(spec, value, from_text=from_text)
            if stored is not IGNORED:
                typed.values[key] = stored
        return typed

    def add_attribute(self, spec: AttributeSpec) -> None:
        with self.lock:
            self.attributes[spec.name.upper()] = spec

    # ------------------------------------------------------------ look-ups
    def get(self, contact_id: int) -> Contact | None:
        return self.contacts.get(contact_id)

    def by_identifier(self, kind: str, value: str) -> Contact | None:
        """The contact holding an email, ext_id or SMS (``kind`` = email | ext_id | sms)."""
        index = {"email": self.by_email, "ext_id": self.by_ext_id, "sms": self.by_sms}[kind]
        contact_id = index.get(value)
        return self.contacts.get(contact_id) if contact_id is not None else None

    def resolve(self, identifier: str, identifier_type: str | None) -> Contact | None:
        """The contact a path identifier names (``GET|PUT|DELETE /contacts/{identifier}``).

        Without ``identifierType`` Brevo reads digits as a contact id, anything with ``@`` as an
        email, and a leading ``+`` as an SMS number; anything else names no contact.
        """
        with self.lock:
            if identifier_type is None:
                if identifier.isdigit():
                    identifier_type = "contact_id"
                elif "@" in identifier:
                    identifier_type = "email_id"
                elif identifier.startswith("+"):
                    identifier_type = "phone_id"
                else:
                    return None
            if identifier_type == "contact_id":
                return self.contacts.get(int(identifier)) if identifier.isdigit() else None
            if identifier_type == "email_id":
                return self.by_identifier("email", identifier.strip().lower())
            if identifier_type == "ext_id":
                return self.by_identifier("ext_id", identifier)
            if identifier_type == "phone_id":
                sms = normalize_phone(identifier)
                return self.by_identifier("sms", sms) if sms else None
            attribute = "WHATSAPP" if identifier_type == "whatsapp_id" else "LANDLINE_NUMBER"
            wanted = normalize_phone(identifier) or identifier
            return next((c for c in self.contacts.values()
                         if c.attributes.get(attribute) in (identifier, wanted)), None)

    def keyed(self, email: str | None, ext_id: str | None, sms: str | None) -> Contact | None:
        """The existing contact a write is keyed on: the one holding its email if it carries one,
        else its ext_id, else its SMS. Brevo keys a contact on its first identifier; the others must
        then be free or already the same contact's (see :meth:`conflicts`)."""
        if email is not None:
            return self.by_identifier("email", email)
        if ext_id is not None:
            return self.by_identifier("ext_id", ext_id)
        if sms is not None:
            return self.by_identifier("sms", sms)
        return None

    def conflicts(self, contact: Contact | None, email: str | None, ext_id: str | None,
                  sms: str | None) -> list[str]:
        """The identifiers, in Brevo's spelling, that another contact than ``contact`` holds."""
        own = contact.id if contact else None
        held = []
        for kind, label, value in (("email", "email", email), ("sms", "SMS", sms), ("ext_id", "ext_id", ext_id)):
            if value is None:
                continue
            holder = self.by_identifier(kind, value)
            if holder is not None and holder.id != own:
                held.append(label)
        return held

    # ------------------------------------------------------------ writes
    def insert(self, *, email: str | None, ext_id: str | None, sms: str | None, values: dict[str, Any],
               list_ids: set[int], email_blacklisted: bool = False, sms_blacklisted: bool = False,
               ) -> Contact:
        """Create a contact; the caller has checked that no one holds its identifiers."""
        with self.lock:
            now = self.now_ms()
            contact = Contact(self._next_contact_id, None, None, None,
                              {k: v for k, v in values.items() if v is not None},
                              set(), email_blacklisted, sms_blacklisted, now, now)
            self._next_contact_id += 1
            self.contacts[contact.id] = contact
            self.set_identifiers(contact, email=email, ext_id=ext_id, sms=sms)
            self.link_lists(contact, list_ids)
            contact.modified_ms = now
            return contact

    def set_identifiers(self, contact: Contact, **changes: str | None) -> bool:
        """Change email / ext_id / sms and their indexes; returns whether anything changed."""
        changed = False
        with self.lock:
            for kind, value in changes.items():
                index = {"email": self.by_email, "ext_id": self.by_ext_id, "sms": self.by_sms}[kind]
                old = getattr(contact, kind)
                if old == value:
                    continue
                if old is not None and index.get(old) == contact.id:
                    del index[old]
                if value is not None:
                    index[value] = contact.id
                setattr(contact, kind, value)
                changed = True
            if changed:
                contact.modified_ms = self.now_ms()
        return changed

    def set_values(self, contact: Contact, values: dict[str, Any]) -> bool:
        """Apply typed attribute values (None clears); returns whether anything changed."""
        changed: dict[str, Any] = {}
        with self.lock:
            for key, value in values.items():
                if value is None:
                    if key in contact.attributes:
                        del contact.attributes[key]
                        changed[key] = None
                elif contact.attributes.get(key, IGNORED) != value:
                    contact.attributes[key] = value
                    changed[key] = value
            if changed:
                contact.modified_ms = self.now_ms()
                if self.listeners:
                    self._emit("contact_updated", contact, {"content": changed})
        return bool(changed)

    def set_flags(self, contact: Contact, email_blacklisted: bool | None = None,
                  sms_blacklisted: bool | None = None) -> bool:
        changed = False
        with self.lock:
            unsubscribed = email_blacklisted is True and not contact.email_blacklisted
            if email_blacklisted is not None and contact.email_blacklisted != email_blacklisted:
                contact.email_blacklisted = email_blacklisted
                changed = True
            if sms_blacklisted is not None and contact.sms_blacklisted != sms_blacklisted:
                contact.sms_blacklisted = sms_blacklisted
                changed = True
            if changed:
                contact.modified_ms = self.now_ms()
                if self.listeners and unsubscribed:
                    self._emit("unsubscribed", contact, {})
        return changed

    def link_lists(self, contact: Contact, list_ids: set[int]) -> set[int]:
        """Add the contact to the lists it is not in yet; returns the lists it joined."""
        with self.lock:
            joined = {i for i in list_ids if i in self.lists and i not in contact.list_ids}
            for list_id in joined:
                self.lists[list_id].members.add(contact.id)
                contact.list_ids.add(list_id)
            if joined:
                contact.modified_ms = self.now_ms()
                if self.listeners:
                    self._emit("list_addition", contact, {"list_id": sorted(joined)})
            return joined

    def unlink_lists(self, contact: Contact, list_ids: set[int]) -> set[int]:
        """Take the contact out of the given lists it is in; returns the lists it left."""
        with self.lock:
            left = {i for i in list_ids if i in contact.list_ids}
            for list_id in left:
                contact.list_ids.discard(list_id)
                if list_id in self.lists:
                    self.lists[list_id].members.discard(contact.id)
            if left:
                contact.modified_ms = self.now_ms()
            return left

    def delete(self, contact: Contact) -> None:
        with self.lock:
            if self.listeners:
                self._emit("contact_deleted", contact, {"list_id": sorted(contact.list_ids)})
            self.unlink_lists(contact, set(contact.list_ids))
            self.set_identifiers(contact, email=None, ext_id=None, sms=None)
            self.contacts.pop(contact.id, None)

    # ------------------------------------------------------------ rendering
    def view(self, contact: Contact) -> dict[str, Any]:
        """A contact as ``GET /contacts`` shows it."""
        attributes = dict(contact.attributes)
        if contact.sms is not None:
            attributes["SMS"] = contact.sms
        if contact.ext_id is not None:
            attributes["EXT_ID"] = contact.ext_id
        body: dict[str, Any] = {"id": contact.id}
        if contact.email is not None:
            body["email"] = contact.email
        body.update({
            "emailBlacklisted": contact.email_blacklisted,
            "smsBlacklisted": contact.sms_blacklisted,
            "whatsappBlacklisted": False,
            "createdAt": iso_ms(contact.created_ms),
            "modifiedAt": iso_ms(contact.modified_ms),
            "listIds": sorted(contact.list_ids),
            "listUnsubscribed": [],
            "attributes": attributes,
        })
        return body

    def dump(self, contact: Contact) -> dict[str, Any]:
        """Everything the sandbox knows about a contact (admin endpoints)."""
        return {**self.view(contact), "ext_id": contact.ext_id, "sms": contact.sms}

    # ------------------------------------------------------------ lists and folders
    def add_list(self, name: str, folder_id: int, list_id: int | None = None) -> ContactList:
        """Create a list (with a given id when seeding); a seeded id that exists is renamed."""
        with self.lock:
            if list_id is None:
                list_id = self._next_list_id
            existing = self.lists.get(list_id)
            if existing is not None:
                existing.name, existing.folder_id = name, folder_id
                return existing
            contact_list = ContactList(list_id, name, folder_id, self.now_ms())
            self.lists[list_id] = contact_list
            self._next_list_id = max(self._next_list_id, list_id + 1)
            if folder_id not in self.folders:
                self.folders[folder_id] = Folder(folder_id, f"Folder {folder_id}")
                self._next_folder_id = max(self._next_folder_id, folder_id + 1)
            return contact_list

    def delete_list(self, list_id: int) -> None:
        with self.lock:
            contact_list = self.lists.pop(list_id)
            now = self.now_ms()
            for contact_id in contact_list.members:
                contact = self.contacts.get(contact_id)
                if contact is not None:
                    contact.list_ids.discard(list_id)
                    contact.modified_ms = now

    def add_folder(self, name: str) -> Folder:
        with self.lock:
            folder = Folder(self._next_folder_id, name)
            self.folders[folder.id] = folder
            self._next_folder_id += 1
            return folder

    def delete_folder(self, folder_id: int) -> None:
        """Brevo deletes a folder with the lists in it."""
        with self.lock:
            for list_id in [i for i, cl in self.lists.items() if cl.folder_id == folder_id]:
                self.delete_list(list_id)
            del self.folders[folder_id]

    def list_view(self, contact_list: ContactList) -> dict[str, Any]:
        """``totalSubscribers`` and ``totalBlacklisted`` are being retired by Brevo and answer 0."""
        return {"id": contact_list.id, "name": contact_list.name, "folderId": contact_list.folder_id,
                "uniqueSubscribers": len(contact_list.members), "totalSubscribers": 0, "totalBlacklisted": 0}

    def folder_view(self, folder: Folder) -> dict[str, Any]:
        members: set[int] = set()
        for contact_list in self.lists.values():
            if contact_list.folder_id == folder.id:
                members |= contact_list.members
        return {"id": folder.id, "name": folder.name, "uniqueSubscribers": len(members),
                "totalSubscribers": 0, "totalBlacklisted": 0}

