"""A seeded, realistic Pipedrive company account for the sandboxes, the demo, the tests and the benchmarks.

``generate_account(persons, seed=..., now=...)`` returns an :class:`Account` whose records are in the
exact JSON shapes the Pipedrive API returns: v2 shapes for persons, organizations, deals, activities,
pipelines, stages and the ``*Fields`` lists; v1 shapes for leads, users, activity types and lead
labels (those have no v2 list endpoint). The Pipedrive sandbox serves these dicts as they are.

Why a generator and not fixtures: the product must survive what real CRMs hold (duplicate and broken
emails, phones in every format, scripts from Latin to Hangul, deleted and archived records, currencies
with no exchange rate) at sizes from a hundred to a million persons. A seeded generator gives every
test and benchmark the same account for the same ``(persons, seed, now)`` without shipping data.

Sizes (ratios to ``persons``; each at least 1 when ``persons`` > 0):

=================  =======  ==================================================================
entity             ratio    notes
=================  =======  ==================================================================
organizations      1/4      2 % deleted; 90 % with an address object; industry, website, size
deals              0.8      open 50 % / won 30 % / lost 20 %; 3 % deleted, 4 % archived;
                            ~3 % converted from a lead (``source_lead_id``)
activities         1.5      70 % on a deal, 25 % on a person only, 5 % on a lead; 2 % deleted
leads              0.1      about a third archived: 15 %, plus every lead converted to a deal
users              4        one of them deactivated
=================  =======  ==================================================================

Persons (ratios of all persons): 75 % linked to an organization; emails 0/1/2/3 with 6/72/17/5 %,
labels work/home/other, the primary not first in 30 % of multi-email persons and no primary flag in
2 %; 3 % carry an invalid primary email (missing ``@``, a space, a trailing dot, ``@@``, no domain,
no TLD, a non-ASCII local part); 6 % have a mixed-case, space-padded email; 1.5 % of persons carry
the primary email of another person (duplicate groups of 2-3, sometimes differing only in case and
padding, half of them the same human entered twice); phones 0/1/2/3 with 15/60/20/5 %, formats
international (55 %), local without country code (33 %), with an extension (7 %) or garbage such
as ``n/a`` (5 %); 1 % share a phone with another person; 2 % are deleted.

Shapes follow the vendors' OpenAPI documents, which the sandbox's contract tests validate against.
Where the real API sends ``null`` but the document declares a field non-nullable (v2 ``org_id``,
``picture_id``, ``won_time``, ``lost_time``, ``expected_close_date``, activity ``deal_id`` ...), the key
is **left out** rather than set to ``null``: a consumer must read such a field with ``.get``. Fields the
document declares nullable, or does not list at all, are always present and may be ``null``. v2 custom
fields are all present under ``custom_fields`` (``null`` when unset), as the v2 API sends them. The
opt-in deal field ``source_lead_id`` (``include_fields``) is stored only on deals converted from a
lead; a server shows it, or ``null``, when a request asks for it.

No generated email address can reach a real mailbox: every domain is under the reserved ``.example``
top-level domain (RFC 2606). Timestamps lie in the two years before ``now``; ids follow creation
order, and a record is never older than the records it references.

Speed and memory, measured on 2 cores with Python 3.11: 10,000 persons in 0.4 s (74 MB peak RSS),
100,000 in 3.9 s (570 MB), 1,000,000 in 51 s (5.5 GB); memory is almost all the records themselves.
What keeps it there: plain dicts, precomputed pools, one ``random.Random`` per entity stream, digits
drawn from compiled templates, UUIDs from the stream's bits, timestamps formatted from a per-day
cache, shared strings and ints wherever a value repeats, and the cyclic GC paused while building.

CLI, for inspection::

    python -m sandbox.generator --persons 1000 --seed 1 --out account.json
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import random
import sys
import unicodedata
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

COMPANY_DOMAIN = "acme-sandbox"
TLD = "example"  # RFC 2606: no generated address or website can belong to anyone
SPAN_SECONDS = 730 * 86400  # records are spread over the two years before `now`
DAY = 86400

# ----------------------------------------------------------------------------- ratios
ORGS_PER_PERSON = 0.25
DEALS_PER_PERSON = 0.8
ACTIVITIES_PER_PERSON = 1.5
LEADS_PER_PERSON = 0.1

PERSON_ORG_LINKED = 0.75
PERSON_DELETED = 0.02
PERSON_INVALID_EMAIL = 0.03
PERSON_MESSY_EMAIL = 0.06
PERSON_DUPLICATE_EMAIL = 0.015
PERSON_SHARED_PHONE = 0.01
EMAIL_COUNT_WEIGHTS = (0.06, 0.72, 0.17, 0.05)
PHONE_COUNT_WEIGHTS = (0.15, 0.60, 0.20, 0.05)
ORG_DELETED = 0.02
DEAL_DELETED = 0.03
DEAL_ARCHIVED = 0.04
DEAL_FROM_LEAD = 0.03
ACTIVITY_DELETED = 0.02
LEAD_ARCHIVED = 0.15  # besides the leads converted to a deal, which are archived too

CURRENCIES = ("EUR", "USD", "GBP", "JPY", "KRW", "CHF", "ZAR")
# How many units of each currency one EUR buys, to give deals plausible amounts.
_UNITS_PER_EUR = {"EUR": 1.0, "USD": 1.08, "GBP": 0.85, "JPY": 160.0, "KRW": 1450.0, "CHF": 0.95, "ZAR": 20.0}
_WHOLE_UNITS = {"JPY", "KRW"}


@dataclass
class Account:
    """A Pipedrive company account's data, in the exact JSON shapes the API returns."""

    persons: list[dict]  # v2 person objects (GET /api/v2/persons item shape), incl. is_deleted=True ones
    organizations: list[dict]  # v2 organization objects
    deals: list[dict]  # v2 deal objects: status open|won|lost, is_deleted / is_archived flags
    activities: list[dict]  # v2 activity objects
    leads: list[dict]  # v1 lead objects (GET /v1/leads item shape), is_archived=True for archived
    pipelines: list[dict]  # v2 pipeline objects
    stages: list[dict]  # v2 stage objects (pipeline_id, order_nr, deal_probability, ...)
    person_fields: list[dict]  # v2 personFields items
    deal_fields: list[dict]  # v2 dealFields items
    organization_fields: list[dict]  # v2 organizationFields items
    users: list[dict]  # v1 user objects
    activity_types: list[dict]  # v1 activityTypes objects
    lead_labels: list[dict]  # v1 leadLabels objects
    company_domain: str  # e.g. "acme-sandbox"


def generate_account(persons: int = 1000, *, seed: int = 0, now: datetime | None = None) -> Account:
    """Generate a whole account; the same ``(persons, seed, now)`` always gives the same account.

    ``now`` defaults to the current UTC time (whole seconds); pass it for a reproducible account.
    """
    if persons < 0:
        raise ValueError(f"persons must be >= 0, not {persons}")
    # The cyclic garbage collector would rescan the millions of young dicts again and again (a third
    # of the run time at 100,000 persons); nothing built here forms a cycle, so pause it.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _generate(persons, seed, _Clock(now))
    finally:
        if was_enabled:
            gc.enable()


def _generate(persons: int, seed: int, clock: _Clock) -> Account:
    counts = entity_counts(persons)
    catalogue = _build_catalogue(seed, clock)
    orgs = _generate_organizations(counts["organizations"], _stream(seed, "organizations"), clock, catalogue)
    people = _generate_persons(persons, _stream(seed, "persons"), clock, catalogue, orgs)
    leads = _generate_leads(counts["leads"], _stream(seed, "leads"), clock, catalogue, orgs, people)
    deals = _generate_deals(counts["deals"], _stream(seed, "deals"), clock, catalogue, orgs, people, leads)
    activities = _generate_activities(counts["activities"], _stream(seed, "activities"), clock, catalogue,
                                      orgs, people, leads, deals)
    return Account(
        persons=people.records,
        organizations=orgs.records,
        deals=deals.records,
        activities=activities,
        leads=leads.records,
        pipelines=catalogue.pipelines,
        stages=catalogue.stages,
        person_fields=catalogue.person_fields,
        deal_fields=catalogue.deal_fields,
        organization_fields=catalogue.organization_fields,
        users=catalogue.users,
        activity_types=catalogue.activity_types,
        lead_labels=catalogue.lead_labels,
        company_domain=COMPANY_DOMAIN,
    )


def entity_counts(persons: int) -> dict[str, int]:
    """How many records of each kind an account of ``persons`` persons holds (see the module doc)."""

    def scaled(ratio: float) -> int:
        return max(1, round(persons * ratio)) if persons > 0 else 0

    return {
        "persons": persons,
        "organizations": scaled(ORGS_PER_PERSON),
        "deals": scaled(DEALS_PER_PERSON),
        "activities": scaled(ACTIVITIES_PER_PERSON),
        "leads": scaled(LEADS_PER_PERSON),
    }


def field_code(seed: int, entity: str, name: str) -> str:
    """A custom field's 40-hex key: stable for a seed, different between seeds (like accounts)."""
    return hashlib.sha1(f"pipedrive-sandbox:{seed}:{entity}:{name}".encode()).hexdigest()


def _stream(seed: int, name: str) -> random.Random:
    """One random stream per entity, so the size of one entity never shifts another's values."""
    return random.Random(f"{seed}:{name}")


def _uuid(rng: random.Random) -> str:
    """A version-4 UUID from the seeded stream (``uuid4`` would not be reproducible)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


# ------------------------------------------------------------------------------ time
class _Clock:
    """Epoch seconds to the API's timestamp strings, fast: the date part is cached per day."""

    _EPOCH = date(1970, 1, 1)

    def __init__(self, now: datetime | None):
        if now is None:
            now = datetime.now(UTC)
        elif now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
        self.now = int(now.timestamp())
        self.start = self.now - SPAN_SECONDS
        self._days: dict[int, str] = {}

    def day(self, ts: int) -> str:
        """``YYYY-MM-DD`` of a timestamp (UTC)."""
        d = ts // DAY
        text = self._days.get(d)
        if text is None:
            text = self._days[d] = (self._EPOCH + timedelta(days=d)).isoformat()
        return text

    def iso(self, ts: int) -> str:
        """RFC 3339 UTC, as v2 writes timestamps: ``2026-11-20T10:15:00Z``."""
        s = ts % DAY
        return f"{self.day(ts)}T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}Z"

    def iso_ms(self, ts: int, ms: int) -> str:
        """ISO 8601 with milliseconds, as v1 leads write timestamps: ``2020-10-14T11:30:36.551Z``."""
        s = ts % DAY
        return f"{self.day(ts)}T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}.{ms:03d}Z"

    def v1(self, ts: int) -> str:
        """v1's ``YYYY-MM-DD HH:MM:SS`` (UTC)."""
        s = ts % DAY
        return f"{self.day(ts)} {s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"

    def later(self, rng: random.Random, ts: int) -> int:
        """An update time at or after ``ts``: never updated (30 %), any time since (55 %), or lately (15 %).

        The recent share gives incremental runs a realistic trickle of changes to pick up.
        """
        r = rng.random()
        if r < 0.30 or ts >= self.now:
            return ts
        if r < 0.85:
            return ts + int(rng.random() * (self.now - ts))
        return max(ts, self.now - int(rng.random() * 7 * DAY))

    def between(self, rng: random.Random, lo: int, hi: int) -> int:
        return lo + int(rng.random() * (hi - lo)) if hi > lo else lo

    def after(self, rng: random.Random, ts: int, mean_days: float) -> int:
        """Some days after ``ts`` (exponential: most soon, a few late), never after ``now``."""
        later = ts + int(rng.expovariate(1 / (mean_days * DAY)))
        return later if later <= self.now else self.between(rng, ts, self.now)


# ------------------------------------------------------------------ digit templates
class _Template:
    """A pattern like ``+49 30 ^######`` compiled once: ``#`` any digit, ``^`` 1-9, ``%`` 2-9, ``?`` a letter.

    Drawing a number is then one ``random()`` per drawn character and no parsing.
    """

    __slots__ = ("parts",)
    _CLASSES: ClassVar[dict[str, str]] = {"#": "0123456789", "^": "123456789", "%": "23456789", "?": "ABDEFGHJLNPQRSTUWXYZ"}

    def __init__(self, pattern: str):
        parts: list[tuple[str, int]] = []  # (text, size of the class to draw from; 0 for a literal)
        for ch in pattern:
            if ch in self._CLASSES:
                parts.append((self._CLASSES[ch], len(self._CLASSES[ch])))
            elif parts and parts[-1][1] == 0:
                parts[-1] = (parts[-1][0] + ch, 0)
            else:
                parts.append((ch, 0))
        self.parts = tuple(parts)

    def draw(self, rng: random.Random) -> str:
        rand = rng.random
        return "".join([text[int(rand() * size)] if size else text for text, size in self.parts])


# -------------------------------------------------------------------- locale pools
_ASCII_FOLD = str.maketrans({"ß": "ss", "ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "œ": "oe", "ł": "l",
                             "Ł": "L", "đ": "d", "Đ": "D", "ı": "i", "İ": "I", "þ": "th"})


def _ascii(text: str) -> str:
    """Lower-case ASCII letters only: what a person would type for their name in an email address."""
    folded = unicodedata.normalize("NFKD", text.translate(_ASCII_FOLD))
    return "".join(ch for ch in folded.lower() if "a" <= ch <= "z")


def _names(spec: str) -> tuple[tuple[str, str], ...]:
    """``"Anna, Ömer, Анна/anna"`` -> ``((native, ascii), ...)``; non-Latin names give their romanization."""
    out = []
    for item in spec.split(","):
        native, _, roman = item.strip().partition("/")
        out.append((native, roman or _ascii(native)))
    return tuple(out)


@dataclass(frozen=True)
class _Locale:
    """What a person or company from one country looks like in a CRM."""

    code: str
    weight: float
    country: str  # as it appears in an address
    first_names: tuple[tuple[str, str], ...]
    last_names: tuple[tuple[str, str], ...]
    cities: tuple[tuple[str, str, str], ...]  # (locality, admin_area_level_1, postal-code template)
    streets: tuple[str, ...]
    address_format: str
    phones_intl: tuple[str, ...]
    phones_local: tuple[str, ...]
    mail_domains: tuple[str, ...]
    currency: str
    companies: tuple[str, ...]  # patterns over {stem}, {stem2}, {city}
    company_stems: tuple[tuple[str, str], ...]  # (native, ascii) extra stems besides last names
    family_first: bool = False  # East Asian order: family name first
    name_separator: str = " "


def _cities(spec: str) -> tuple[tuple[str, str, str], ...]:
    return tuple(tuple(part.strip() for part in item.split("|")) for item in spec.split(";"))  # type: ignore[misc]


def _list(spec: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in spec.split(";"))


LOCALES: tuple[_Locale, ...] = (
    _Locale(
        "en_US", 16, "USA",
        _names("James, Mary, John, Patricia, Robert, Jennifer, Michael, Linda, David, Elizabeth, Sarah, Chris, "
               "Emily, Daniel, Jessica, Ashley, Brian, Megan, Kevin, Laura, Tyler, Brittany"),
        _names("Smith, Johnson, Williams, Brown, Jones, Garcia, Miller, Davis, Rodriguez, Martinez, Wilson, "
               "Anderson, Taylor, Thomas, Moore, O'Brien, McDonald, Washington, Nguyen, Kim"),
        _cities("San Francisco|CA|941##; New York|NY|100##; Chicago|IL|606##; Austin|TX|787##; "
                "Boston|MA|021##; Seattle|WA|981##"),
        _list("Market Street; Main Street; Broadway; Oak Avenue; Elm Street; Mission Street; 5th Avenue"),
        "{street_number} {route}, {locality}, {admin_area_level_1} {postal_code}, {country}",
        ("+1 415 %%# ####", "+1 212 %%# ####", "+1 646 %%# ####", "+1 312 %%# ####"),
        ("(415) %%#-####", "(212) %%#-####", "415-%%#-####", "312.%%#.####"),
        ("gmail.example", "yahoo.example", "outlook.example", "icloud.example"),
        "USD",
        ("{stem} Inc.", "{stem} LLC", "{stem} & {stem2} Co.", "{stem} Holdings", "{stem} Technologies Inc."),
        _names("Blue Ridge, Summit, Pioneer, Redwood, Harbor, Northstar, Evergreen, Keystone"),
    ),
    _Locale(
        "en_GB", 6, "United Kingdom",
        _names("Oliver, Amelia, Harry, Isla, George, Ava, Jack, Sophie, Charlotte, William, Siobhan, Rhys"),
        _names("Smith, Jones, Taylor, Brown, Davies, Evans, Wilson, Thomas, Roberts, Hughes, Ffion, O'Neill"),
        _cities("London|England|EC^? #??; Manchester|England|M^ #??; Edinburgh|Scotland|EH^ #??; "
                "Cardiff|Wales|CF^ #??"),
        _list("High Street; Station Road; Victoria Road; Church Lane; Baker Street"),
        "{street_number} {route}, {locality} {postal_code}, {country}",
        ("+44 20 7946 ####", "+44 745# ######", "+44 161 %## ####"),
        ("020 7946 ####", "0745# ######", "0161 %## ####"),
        ("gmail.example", "btinternet.example", "outlook.example"),
        "GBP",
        ("{stem} Ltd", "{stem} & {stem2} LLP", "{stem} plc", "{stem} Group Ltd"),
        _names("Thames, Albion, Kingfisher, Ashdown, Whitehall"),
    ),
    _Locale(
        "de_DE", 12, "Deutschland",
        _names("Lukas, Anna, Jürgen, Sören, Björn, Jörg, Käthe, Günther, Maximilian, Sophie, Lena, Felix, "
               "Ömer, Marie, Hans-Peter, Anna-Lena, Jürgen, Ute"),
        _names("Müller, Schmidt, Schneider, Fischer, Weiß, Größer, Schäfer, Köhler, Bäcker, Wagner, Becker, "
               "Hoffmann, Schröder, von Bülow, Meyer, Yılmaz, Groß"),
        _cities("Berlin|Berlin|1####; München|Bayern|80###; Hamburg|Hamburg|20###; "
                "Köln|Nordrhein-Westfalen|50###; Frankfurt am Main|Hessen|60###"),
        _list("Hauptstraße; Friedrichstraße; Schloßallee; Königsallee; Bahnhofstraße; Lindenstraße"),
        "{route} {street_number}, {postal_code} {locality}, {country}",
        ("+49 30 ^######", "+49 89 ^#######", "+49 151 ########", "+49 171 #######"),
        ("030 ^######", "089 ^#######", "0151 ########", "030/^######"),
        ("gmx.example", "web.example", "t-online.example", "gmail.example"),
        "EUR",
        ("{stem} GmbH", "{stem} AG", "{stem} & {stem2} GmbH & Co. KG", "{stem} {word} GmbH"),
        _names("Nordlicht, Bergwerk, Elbtal, Rheinblick, Sonnenhof"),
    ),
    _Locale(
        "fr_FR", 7, "France",
        _names("Amélie, Chloé, Léa, François, Hélène, Jérôme, Benoît, Zoë, Anaïs, Noël, Céline, Théo, Gaëlle, "
               "Loïc, Éric, Marie-Claire"),
        _names("Martin, Bernard, Dubois, Lefèvre, Moreau, Girard, Fournier, Rousseau, Lemaître, Duchêne, "
               "Lacroix, Mercier, Faure, N'Diaye, de La Fontaine"),
        _cities("Paris|Île-de-France|750##; Lyon|Auvergne-Rhône-Alpes|6900^; "
                "Marseille|Provence-Alpes-Côte d'Azur|130##; Toulouse|Occitanie|310##; Nantes|Pays de la Loire|440##"),
        _list("rue de la Paix; avenue des Champs-Élysées; boulevard Haussmann; rue Lafayette; place Bellecour"),
        "{street_number} {route}, {postal_code} {locality}, {country}",
        ("+33 1 ## ## ## ##", "+33 6 1# ## ## ##", "+33 4 ## ## ## ##"),
        ("01 ## ## ## ##", "06 1# ## ## ##", "01.##.##.##.##"),
        ("orange.example", "free.example", "laposte.example", "gmail.example"),
        "EUR",
        ("{stem} SARL", "{stem} SAS", "{stem} & Fils", "Groupe {stem}", "{stem} SA"),
        _names("Lumière, Horizon, Étoile, Belle-Île, Provençal"),
    ),
    _Locale(
        "es_ES", 5, "España",
        _names("Alejandro, Lucía, Sofía, Martín, Andrés, Jesús, Ángela, Raúl, Inés, Íñigo, Begoña, María José"),
        _names("García, Fernández, González, Rodríguez, López, Martínez, Sánchez, Pérez, Gómez, Muñoz, "
               "Jiménez, Peña, Castaño, García Márquez"),
        _cities("Madrid|Comunidad de Madrid|280##; Barcelona|Cataluña|080##; Sevilla|Andalucía|410##; "
                "Valencia|Comunitat Valenciana|460##"),
        _list("Calle Mayor; Gran Vía; Paseo de la Castellana; Calle de Alcalá; Avinguda Diagonal"),
        "{route}, {street_number}, {postal_code} {locality}, {country}",
        ("+34 91 ### ## ##", "+34 93 ### ## ##", "+34 6## ### ###"),
        ("91 ### ## ##", "6## ## ## ##"),
        ("gmail.example", "telefonica.example", "hotmail.example"),
        "EUR",
        ("{stem} S.L.", "{stem} y Asociados S.A.", "Grupo {stem}"),
        _names("Ibérica, Sol, Mediterráneo, Castilla"),
    ),
    _Locale(
        "pt_BR", 4, "Brasil",
        _names("João, Maria, Antônio, Francisca, Luíza, Gabriel, Letícia, Vitória, Conceição, Sebastião"),
        _names("Silva, Santos, Oliveira, Souza, Conceição, Gonçalves, Araújo, Magalhães, Simões, Brandão"),
        _cities("São Paulo|SP|0####-###; Rio de Janeiro|RJ|2####-###; Belo Horizonte|MG|3####-###"),
        _list("Avenida Paulista; Rua Augusta; Rua da Consolação; Avenida Atlântica"),
        "{route}, {street_number} - {locality} - {admin_area_level_1}, {postal_code}, {country}",
        ("+55 11 3###-####", "+55 11 9^###-####", "+55 21 2###-####"),
        ("(11) 3###-####", "(11) 9^###-####"),
        ("uol.example", "gmail.example", "bol.example"),
        "USD",
        ("{stem} Ltda.", "{stem} & Cia.", "{stem} S.A."),
        _names("Paraná, Horizonte, Estrela, Amazônia"),
    ),
    _Locale(
        "pl_PL", 3, "Polska",
        _names("Łukasz, Małgorzata, Paweł, Agnieszka, Wojciech, Katarzyna, Michał, Zofia, Józef, Bożena"),
        _names("Nowak, Kowalski, Wiśniewski, Wójcik, Kamiński, Lewandowski, Zieliński, Szymański, Dąbrowski, "
               "Woźniak, Kaźmierczak"),
        _cities("Warszawa|mazowieckie|0#-###; Kraków|małopolskie|3#-###; Gdańsk|pomorskie|80-###; "
                "Wrocław|dolnośląskie|5#-###"),
        _list("ul. Marszałkowska; ul. Floriańska; ul. Długa; al. Jerozolimskie"),
        "{route} {street_number}, {postal_code} {locality}, {country}",
        ("+48 22 ### ## ##", "+48 5## ### ###"),
        ("22 ### ## ##", "5## ### ###"),
        ("wp.example", "onet.example", "gmail.example"),
        "EUR",
        ("{stem} Sp. z o.o.", "{stem} S.A."),
        _names("Wisła, Bałtyk, Tatry"),
    ),
    _Locale(
        "cs_CZ", 2, "Česko",
        _names("Jiří, Tomáš, Petra, Lucie, Kateřina, Jan, Zdeněk, Věra, Ondřej, Šárka"),
        _names("Novák, Dvořák, Černý, Procházka, Kučera, Veselý, Horák, Němec, Růžička, Šťastný"),
        _cities("Praha|Hlavní město Praha|1## 00; Brno|Jihomoravský kraj|6## 00"),
        _list("Václavské náměstí; Národní; Karlova; Masarykova"),
        "{route} {street_number}, {postal_code} {locality}, {country}",
        ("+420 2## ### ###", "+420 603 ### ###", "+420 777 ### ###"),
        ("2## ### ###", "603 ### ###"),
        ("seznam.example", "centrum.example"),
        "EUR",
        ("{stem} s.r.o.", "{stem} a.s."),
        _names("Vltava, Šumava, Krkonoše"),
    ),
    _Locale(
        "tr_TR", 3, "Türkiye",
        _names("Mehmet, Ayşe, Fatma, Mustafa, Emine, İsmail, Özge, Çağrı, Şule, Gülşen, Barış, Ömer"),
        _names("Yılmaz, Kaya, Demir, Şahin, Çelik, Yıldız, Öztürk, Aydın, Özdemir, Arslan, Doğan, Kılıç"),
        _cities("İstanbul|İstanbul|34###; Ankara|Ankara|06###; İzmir|İzmir|35###"),
        _list("İstiklal Caddesi; Bağdat Caddesi; Atatürk Bulvarı"),
        "{route} No:{street_number}, {postal_code} {locality}, {country}",
        ("+90 212 ^## ## ##", "+90 53# ### ## ##"),
        ("0212 ^## ## ##", "0532 ### ## ##"),
        ("gmail.example", "hotmail.example"),
        "EUR",
        ("{stem} A.Ş.", "{stem} Ltd. Şti."),
        _names("Boğaziçi, Anadolu, Ege"),
    ),
    _Locale(
        "ru_RU", 5, "Россия",
        _names("Александр/aleksandr, Дмитрий/dmitriy, Сергей/sergey, Андрей/andrey, Мария/mariya, Анна/anna, "
               "Елена/elena, Ольга/olga, Наталья/natalya, Юлия/yuliya, Иван/ivan, Татьяна/tatyana"),
        _names("Иванов/ivanov, Смирнов/smirnov, Кузнецов/kuznetsov, Попов/popov, Васильев/vasilyev, "
               "Петров/petrov, Соколов/sokolov, Михайлов/mikhaylov, Новиков/novikov, Фёдоров/fyodorov, "
               "Морозов/morozov, Волков/volkov"),
        _cities("Москва|Москва|1#####; Санкт-Петербург|Санкт-Петербург|19####; "
                "Новосибирск|Новосибирская область|630###"),
        _list("ул. Тверская; Невский проспект; ул. Арбат; Ленинский проспект"),
        "{route}, д. {street_number}, {locality}, {postal_code}, {country}",
        ("+7 495 ^##-##-##", "+7 9## ###-##-##", "+7 812 ^##-##-##"),
        ("8 (495) ^##-##-##", "8 9## ###-##-##"),
        ("yandex.example", "mail.example", "rambler.example"),
        "USD",
        ("ООО «{stem}»", "АО «{stem}»", "ООО «{stem} Групп»"),
        _names("Восток/vostok, Сибирь/sibir, Север/sever, Волга/volga"),
    ),
    _Locale(
        "uk_UA", 2, "Україна",
        _names("Олександр/oleksandr, Олена/olena, Тарас/taras, Ірина/iryna, Богдан/bohdan, Оксана/oksana, "
               "Юрій/yuriy, Галина/halyna"),
        _names("Шевченко/shevchenko, Коваленко/kovalenko, Бондаренко/bondarenko, Ткаченко/tkachenko, "
               "Кравчук/kravchuk, Мельник/melnyk, Гончаренко/honcharenko, Ґудзь/gudz"),
        _cities("Київ|Київ|0####; Львів|Львівська область|79###"),
        _list("вул. Хрещатик; вул. Шевченка; просп. Свободи"),
        "{route}, {street_number}, {locality}, {postal_code}, {country}",
        ("+380 44 ^## ####", "+380 67 ### ####"),
        ("044 ^## ####", "067 ### ####"),
        ("ukr.example", "gmail.example"),
        "EUR",
        ("ТОВ «{stem}»",),
        _names("Дніпро/dnipro, Карпати/karpaty"),
    ),
    _Locale(
        "el_GR", 3, "Ελλάδα",
        _names("Γιώργος/giorgos, Μαρία/maria, Δημήτρης/dimitris, Ελένη/eleni, Νίκος/nikos, Κατερίνα/katerina, "
               "Κώστας/kostas, Σοφία/sofia"),
        _names("Παπαδόπουλος/papadopoulos, Παπαδάκης/papadakis, Γεωργίου/georgiou, Οικονόμου/oikonomou, "
               "Νικολάου/nikolaou, Αντωνίου/antoniou, Καραγιάννης/karagiannis"),
        _cities("Αθήνα|Αττική|1## ##; Θεσσαλονίκη|Κεντρική Μακεδονία|5## ##"),
        _list("Ερμού; Λεωφόρος Συγγρού; Πανεπιστημίου"),
        "{route} {street_number}, {postal_code} {locality}, {country}",
        ("+30 21# ### ####", "+30 69# ### ####"),
        ("21# ### ####", "69# ### ####"),
        ("otenet.example", "gmail.example"),
        "EUR",
        ("{stem} Α.Ε.", "{stem} Ε.Π.Ε."),
        _names("Αιγαίο/aigaio, Όλυμπος/olympos"),
    ),
    _Locale(
        "zh_CN", 5, "中国",
        _names("伟/wei, 芳/fang, 娜/na, 敏/min, 静/jing, 磊/lei, 洋/yang, 婷/ting, 强/qiang, 秀英/xiuying, "
               "建华/jianhua, 子涵/zihan"),
        _names("王/wang, 李/li, 张/zhang, 刘/liu, 陈/chen, 杨/yang, 黄/huang, 赵/zhao, 吴/wu, 周/zhou, 欧阳/ouyang"),
        _cities("北京|北京市|100###; 上海|上海市|200###; 深圳|广东省|518###; 杭州|浙江省|310###"),
        _list("长安街; 南京路; 深南大道; 文三路"),
        "{country}{admin_area_level_1}{locality}{route}{street_number}号 {postal_code}",
        ("+86 10 ^### ####", "+86 13# #### ####", "+86 21 ^### ####"),
        ("010-^#######", "13# #### ####"),
        ("qq.example", "163.example", "sina.example"),
        "USD",
        ("{stem}科技有限公司", "{city}{stem}贸易有限公司"),
        _names("星辰/xingchen, 远航/yuanhang, 金桥/jinqiao, 天成/tiancheng, 宏达/hongda, 瑞丰/ruifeng"),
        family_first=True, name_separator="",
    ),
    _Locale(
        "ja_JP", 4, "日本",
        _names("翔/sho, 陽菜/hina, 蓮/ren, 結衣/yui, 大翔/hiroto, さくら/sakura, 健太/kenta, 美咲/misaki, "
               "拓海/takumi, 愛/ai"),
        _names("佐藤/sato, 鈴木/suzuki, 高橋/takahashi, 田中/tanaka, 伊藤/ito, 渡辺/watanabe, 山本/yamamoto, "
               "中村/nakamura, 小林/kobayashi, 加藤/kato"),
        _cities("渋谷区|東京都|150-00##; 大阪市|大阪府|530-00##; 横浜市|神奈川県|220-00##"),
        _list("道玄坂; 梅田; みなとみらい"),
        "〒{postal_code} {admin_area_level_1}{locality}{route}{street_number}",
        ("+81 3-^###-####", "+81 90-^###-####", "+81 6-^###-####"),
        ("03-^###-####", "090-^###-####"),
        ("docomo.example", "yahoo.example", "gmail.example"),
        "JPY",
        ("株式会社{stem}", "{stem}商事株式会社", "{stem}工業株式会社"),
        _names("富士/fuji, 桜/sakura, 大和/yamato"),
        family_first=True, name_separator="",
    ),
    _Locale(
        "ko_KR", 4, "대한민국",
        _names("민준/minjun, 서연/seoyeon, 지호/jiho, 하은/haeun, 도윤/doyun, 지우/jiwoo, 예준/yejun, 수아/sua"),
        _names("김/kim, 이/lee, 박/park, 최/choi, 정/jung, 강/kang, 조/cho, 윤/yoon, 장/jang, 임/lim"),
        _cities("강남구|서울특별시|06###; 부산진구|부산광역시|47###; 성남시|경기도|13###"),
        _list("테헤란로; 세종대로; 해운대로"),
        "{admin_area_level_1} {locality} {route} {street_number}",
        ("+82 2-^###-####", "+82 10-^###-####", "+82 31-^##-####"),
        ("02-^###-####", "010-^###-####"),
        ("naver.example", "daum.example", "kakao.example"),
        "KRW",
        ("주식회사 {stem}", "{stem}테크 주식회사", "(주){stem}"),
        _names("한빛/hanbit, 미래/mirae, 푸른/pureun"),
        family_first=True, name_separator="",
    ),
    _Locale(
        "ar_AE", 4, "الإمارات العربية المتحدة",
        _names("محمد/mohammed, أحمد/ahmed, فاطمة/fatima, عائشة/aisha, علي/ali, مريم/mariam, يوسف/youssef, "
               "ليلى/layla, عمر/omar, نور/noor"),
        _names("العلي/alali, الحسن/alhassan, المنصوري/almansoori, الهاشمي/alhashimi, القحطاني/alqahtani, "
               "الشمري/alshammari, حداد/haddad, خوري/khoury"),
        _cities("دبي|دبي|; أبوظبي|أبوظبي|"),
        _list("شارع الشيخ زايد; شارع الوصل; كورنيش أبوظبي"),
        "{route} {street_number}، {locality}، {country}",
        ("+971 4 2## ####", "+971 50 ^## ####", "+966 11 ^## ####", "+966 50 ### ####"),
        ("04 2## ####", "050 ^## ####"),
        ("gmail.example", "emirates.example"),
        "USD",
        ("شركة {stem} للتجارة", "مجموعة {stem}", "{stem} ذ.م.م"),
        _names("الخليج/alkhaleej, الواحة/alwaha, النخيل/alnakheel"),
    ),
    _Locale(
        "vi_VN", 2, "Việt Nam",
        _names("Anh, Bảo, Châu, Dũng, Hương, Linh, Minh, Phương, Quỳnh, Thảo"),
        _names("Nguyễn, Trần, Lê, Phạm, Hoàng, Huỳnh, Phan, Vũ, Đặng, Bùi"),
        _cities("Hà Nội|Hà Nội|100000; Thành phố Hồ Chí Minh|Hồ Chí Minh|700000"),
        _list("Phố Huế; Đường Lê Lợi; Đường Nguyễn Huệ"),
        "{street_number} {route}, {locality}, {country}",
        ("+84 24 3### ####", "+84 9# ### ## ##"),
        ("024 3### ####", "09# ### ## ##"),
        ("gmail.example", "yahoo.example"),
        "USD",
        ("Công ty TNHH {stem}", "Công ty Cổ phần {stem}"),
        _names("Sông Hồng, Phương Nam"),
        family_first=True,
    ),
    _Locale(
        "sv_SE", 2, "Sverige",
        _names("Åsa, Björn, Märta, Sven, Ingrid, Lars, Karin, Göran, Linnéa, Östen"),
        _names("Andersson, Johansson, Karlsson, Nilsson, Eriksson, Larsson, Öberg, Åström, Sjöberg, Lindqvist"),
        _cities("Stockholm|Stockholms län|1## ##; Göteborg|Västra Götalands län|4## ##; Malmö|Skåne län|2## ##"),
        _list("Drottninggatan; Kungsgatan; Storgatan"),
        "{route} {street_number}, {postal_code} {locality}, {country}",
        ("+46 8 ^## ## ##", "+46 70 ### ## ##"),
        ("08-^## ## ##", "070-### ## ##"),
        ("telia.example", "gmail.example"),
        "EUR",
        ("{stem} AB",),
        _names("Norrsken, Fjäll, Skärgård"),
    ),
    _Locale(
        "de_CH", 3, "Schweiz",
        _names("Reto, Ursula, Beat, Nicole, Urs, Corinne, Luca, Chiara, Noémie"),
        _names("Müller, Meier, Schmid, Keller, Weber, Huber, Brunner, Zürcher, Bühler, Rochat"),
        _cities("Zürich|ZH|80##; Basel|BS|40##; Genève|GE|12##; Lugano|TI|69##"),
        _list("Bahnhofstrasse; Limmatquai; Rue du Rhône; Via Nassa"),
        "{route} {street_number}, {postal_code} {locality}, {country}",
        ("+41 44 ^## ## ##", "+41 79 ### ## ##"),
        ("044 ^## ## ##", "079 ### ## ##"),
        ("bluewin.example", "gmx.example"),
        "CHF",
        ("{stem} AG", "{stem} GmbH", "{stem} SA"),
        _names("Alpstein, Helvetia, Säntis"),
    ),
    _Locale(
        "en_ZA", 1, "South Africa",
        _names("Thabo, Lerato, Sipho, Naledi, Pieter, Annelie, Zanele"),
        _names("Nkosi, Dlamini, van der Merwe, Botha, Mokoena, Naidoo, Pretorius"),
        _cities("Cape Town|Western Cape|8###; Johannesburg|Gauteng|2###"),
        _list("Long Street; Jan Smuts Avenue; Main Road"),
        "{street_number} {route}, {locality}, {postal_code}, {country}",
        ("+27 21 ^## ####", "+27 82 ### ####"),
        ("021 ^## ####", "082 ### ####"),
        ("mweb.example", "gmail.example"),
        "ZAR",
        ("{stem} (Pty) Ltd",),
        _names("Table Mountain, Karoo, Ubuntu"),
    ),
    _Locale(
        "en_IN", 3, "India",
        _names("Aarav, Priya, Rohan, Ananya, Vikram, Sneha, Arjun, Kavya"),
        _names("Sharma, Patel, Gupta, Reddy, Iyer, Nair, Singh, Mukherjee"),
        _cities("Bengaluru|Karnataka|560 0##; Mumbai|Maharashtra|400 0##"),
        _list("MG Road; Linking Road; Brigade Road"),
        "{street_number} {route}, {locality} {postal_code}, {country}",
        ("+91 98### #####", "+91 80 ^### ####"),
        ("098### #####", "080 ^### ####"),
        ("rediffmail.example", "gmail.example"),
        "USD",
        ("{stem} Pvt. Ltd.", "{stem} Technologies Pvt. Ltd."),
        _names("Ganga, Sahyadri, Indus"),
    ),
)

_COMPANY_WORDS = ("Software", "Logistik", "Consulting", "Systems", "Medien", "Analytics", "Robotics", "Foods",
                  "Energy", "Partners", "Labs", "Health")
_EXTENSION_FORMATS = ("{number} ext. {ext}", "{number} x{ext}", "{number} Durchwahl {ext}", "{number} #{ext}")
_GARBAGE_PHONES = ("n/a", "N/A", "-", "none", "0", "call reception", "tbd", "+", "12345", "see email")
_PHONE_LABELS = ("work", "mobile", "home", "other")
_INVALID_EMAIL_KINDS = ("missing_at", "space", "trailing_dot", "double_at", "no_domain", "no_tld", "unicode")


@dataclass
class _CompiledLocale:
    """A locale with its digit templates compiled (done once per process)."""

    locale: _Locale
    phones_intl: tuple[_Template, ...]
    phones_local: tuple[_Template, ...]
    postal: tuple[_Template, ...]


_COMPILED: list[_CompiledLocale] = [
    _CompiledLocale(loc, tuple(map(_Template, loc.phones_intl)), tuple(map(_Template, loc.phones_local)),
                    tuple(_Template(c[2]) for c in loc.cities))
    for loc in LOCALES
]
# A lookup table of locale indices in proportion to their weights: one random() picks a locale.
_LOCALE_TABLE: tuple[int, ...] = tuple(
    i for i, loc in enumerate(LOCALES) for _ in range(round(loc.weight * 10)))


# --------------------------------------------------------------------- catalogue
@dataclass
class _OptionField:
    """A custom field as the generators need it: its key and, for enum and set fields, its option ids."""

    code: str
    option_ids: list[int]


@dataclass
class _Catalogue:
    """The account's fixed configuration and the keys the record generators draw from."""

    users: list[dict]
    user_table: tuple[int, ...]  # owner ids in proportion to how much each user owns
    activity_types: list[dict]
    lead_labels: list[dict]
    pipelines: list[dict]
    stages: list[dict]
    stages_by_pipeline: dict[int, list[dict]]
    person_fields: list[dict]
    deal_fields: list[dict]
    organization_fields: list[dict]
    person_custom: dict[str, _OptionField]
    deal_custom: dict[str, _OptionField]
    org_custom: dict[str, _OptionField]
    person_label_ids: list[int]
    org_label_ids: list[int]
    deal_label_ids: list[int]
    industry_ids: list[int]
    channel_ids: list[int]
    company_id: int = 1


_USERS = (  # name, login, locale, currency, timezone, offset, active
    ("Alex Morgan", "alex.morgan", "en_US", "EUR", "Europe/Berlin", "+01:00", True),
    ("Jana Nováková", "jana.novakova", "cs_CZ", "EUR", "Europe/Prague", "+01:00", True),
    ("渡辺 健太", "kenta.watanabe", "ja_JP", "JPY", "Asia/Tokyo", "+09:00", True),
    ("Fatima Al-Sayed", "fatima.alsayed", "en_US", "USD", "Asia/Dubai", "+04:00", False),
)
_OWNER_WEIGHTS = (40, 30, 20, 10)

_ACTIVITY_TYPES = (  # name, key_string, icon_key, custom
    ("Call", "call", "call", False),
    ("Meeting", "meeting", "meeting", False),
    ("Task", "task", "task", False),
    ("Deadline", "deadline", "deadline", False),
    ("Email", "email", "email", False),
    ("Lunch", "lunch", "lunch", False),
    ("Video call", "video_call", "camera", True),
)

_PIPELINES = (  # name, probability enabled, [(stage, probability, rotten days)]
    ("Sales", True, [("Qualified", 10, None), ("Contact made", 20, None), ("Demo scheduled", 40, 14),
                     ("Proposal made", 60, 14), ("Negotiations started", 80, 7), ("Verbal commitment", 90, 7)]),
    ("Partnerships", False, [("Identified", 10, None), ("Intro call", 30, 30), ("Agreement drafted", 60, 30),
                             ("Signed", 90, None)]),
    ("Renewals", True, [("Upcoming", 50, None), ("Contacted", 60, 21), ("Quote sent", 75, 14),
                        ("Negotiation", 85, 7), ("Renewal confirmed", 95, None)]),
)
_PIPELINE_WEIGHTS = (60, 15, 25)

_PERSON_CUSTOM = (  # name, field_type, options
    ("Lead source", "enum", ("Website", "Referral", "Trade show", "Cold call", "LinkedIn", "Partner", "Webinar",
                             "Google Ads")),
    ("Industry", "varchar", ()),
    ("Company size", "enum", ("1-10", "11-50", "51-200", "201-1000", "1000+")),
    ("Interests", "set", ("Product updates", "Webinars", "Pricing", "Integrations", "Case studies", "Events",
                          "Security")),
    ("Birthday", "date", ()),
    ("Score", "double", ()),
    ("Newsletter opt-in", "enum", ("Yes", "No")),
    ("Annual budget", "monetary", ()),
)
_DEAL_CUSTOM = (
    ("Lead source", "enum", ("Website", "Referral", "Trade show", "Cold call", "LinkedIn", "Partner", "Webinar")),
    ("Campaign", "varchar", ()),
)
_ORG_CUSTOM = (
    ("Segment", "enum", ("SMB", "Mid-market", "Enterprise", "Public sector", "Non-profit")),
)
_INDUSTRIES = ("Agriculture", "Automotive", "Banking", "Construction", "Consulting", "Education", "Energy",
               "Healthcare", "Hospitality", "Insurance", "IT & Software", "Manufacturing", "Media", "Retail",
               "Telecommunications", "Transportation")
_CHANNELS = ("Paid search", "Organic search", "Social media", "Email marketing", "Events", "Referral",
             "Direct traffic", "Offline")
_MONETARY_SUBFIELDS = (("value", "Amount of {name}", "double"), ("currency", "Currency of {name}", "varchar"))
_ADDRESS_SUBFIELDS = (("value", "Address value of {name}"), ("street_number", "House number of {name}"),
                      ("route", "Street/road name of {name}"), ("subpremise", "Apartment/suite of {name}"),
                      ("locality", "District of {name}"), ("admin_area_level_1", "State/province of {name}"),
                      ("admin_area_level_2", "County of {name}"), ("country", "Country of {name}"),
                      ("postal_code", "Postal code of {name}"),
                      ("formatted_address", "Formatted address of {name}"))

# Built-in fields, as v2 lists them: (field_code, field_name, field_type, optional-response-only).
_PERSON_BUILTINS = (
    ("name", "Name", "varchar", False), ("first_name", "First name", "varchar", False),
    ("last_name", "Last name", "varchar", False), ("label_ids", "Labels", "set", False),
    ("org_id", "Organization", "org", False), ("owner_id", "Owner", "user", False),
    ("email", "Email", "varchar", False), ("phone", "Phone", "phone", False),
    ("add_time", "Person created", "date", False), ("update_time", "Update time", "date", False),
    ("visible_to", "Visible to", "visible_to", False), ("picture_id", "Profile picture", "picture", False),
    ("open_deals_count", "Open deals", "int", True), ("won_deals_count", "Won deals", "int", True),
    ("lost_deals_count", "Lost deals", "int", True), ("closed_deals_count", "Closed deals", "int", True),
    ("activities_count", "Total activities", "int", True), ("marketing_status", "Marketing status", "status", True),
)
_ORG_BUILTINS = (
    ("name", "Name", "varchar", False), ("label_ids", "Labels", "set", False),
    ("owner_id", "Owner", "user", False), ("address", "Address", "address", False),
    ("website", "Website", "varchar", False), ("linkedin", "LinkedIn profile", "varchar", False),
    ("industry", "Industry", "enum", False), ("annual_revenue", "Annual revenue", "int", False),
    ("employee_count", "Number of employees", "int", False),
    ("add_time", "Organization created", "date", False), ("update_time", "Update time", "date", False),
    ("visible_to", "Visible to", "visible_to", False),
    ("people_count", "People", "int", True), ("open_deals_count", "Open deals", "int", True),
)
_DEAL_BUILTINS = (
    ("title", "Title", "varchar", False), ("creator_user_id", "Creator", "user", False),
    ("owner_id", "Owner", "user", False), ("value", "Value", "monetary", False),
    ("person_id", "Contact person", "people", False), ("org_id", "Organization", "org", False),
    ("pipeline_id", "Pipeline", "stage", False), ("stage_id", "Stage", "stage", False),
    ("status", "Status", "status", False), ("probability", "Probability", "double", False),
    ("lost_reason", "Lost reason", "varchar_options", False),
    ("expected_close_date", "Expected close date", "date", False),
    ("close_time", "Deal closed on", "date", False), ("won_time", "Won time", "date", False),
    ("lost_time", "Lost time", "date", False), ("add_time", "Deal created", "date", False),
    ("update_time", "Update time", "date", False), ("stage_change_time", "Last stage change", "date", False),
    ("label_ids", "Labels", "set", False), ("visible_to", "Visible to", "visible_to", False),
    ("origin", "Source origin", "varchar", False), ("origin_id", "Source origin ID", "varchar", False),
    ("channel", "Source channel", "enum", False), ("channel_id", "Source channel ID", "varchar", False),
    ("archive_time", "Archive time", "date", False),
    ("source_lead_id", "Source lead", "lead", True), ("activities_count", "Total activities", "int", True),
)


class _OptionIds:
    """Option ids are unique across the whole account in Pipedrive, so one counter hands them out."""

    def __init__(self, start: int = 1) -> None:
        self.next = start

    def take(self, n: int) -> list[int]:
        ids = list(range(self.next, self.next + n))
        self.next += n
        return ids


def _field(code: str, name: str, field_type: str, *, custom: bool, optional: bool = False,
           options: list[dict] | None = None, description: str | None = None) -> dict:
    subfields: list[dict] | None = None
    if field_type == "monetary":
        subfields = [{"field_code": c, "field_name": n.format(name=name), "field_type": t}
                     for c, n, t in _MONETARY_SUBFIELDS]
    elif field_type == "address":
        subfields = [{"field_code": c, "field_name": n.format(name=name), "field_type": "varchar"}
                     for c, n in _ADDRESS_SUBFIELDS]
    return {
        "field_name": name,
        "field_code": code,
        "description": description or (f"Custom field {name}" if custom else f"The {name.lower()} field"),
        "field_type": field_type,
        "options": options,
        "subfields": subfields,
        "is_custom_field": custom,
        "is_optional_response_field": optional,
    }


def _options(ids: list[int], labels: Sequence[str], colors: Sequence[str | None] | None = None) -> list[dict]:
    return [{"id": i, "label": label, "color": colors[n] if colors else None}
            for n, (i, label) in enumerate(zip(ids, labels, strict=True))]


def _fields_for(entity: str, seed: int, builtins: Sequence[tuple[str, str, str, bool]],
                custom: Sequence[tuple[str, str, Sequence[str]]], ids: _OptionIds,
                builtin_options: dict[str, list[dict]]) -> tuple[list[dict], dict[str, _OptionField]]:
    """The entity's ``*Fields`` list (built-ins first, as the API lists them) and its custom keys."""
    items = [_field(code, name, ftype, custom=False, optional=optional, options=builtin_options.get(code))
             for code, name, ftype, optional in builtins]
    keys: dict[str, _OptionField] = {}
    for name, ftype, labels in custom:
        code = field_code(seed, entity, name)
        option_ids = ids.take(len(labels)) if labels else []
        items.append(_field(code, name, ftype, custom=True, options=_options(option_ids, labels) if labels else None))
        keys[name] = _OptionField(code, option_ids)
    return items, keys


def _build_catalogue(seed: int, clock: _Clock) -> _Catalogue:
    rng = _stream(seed, "catalogue")
    setup = clock.start - 120 * DAY  # the account was set up before its oldest record
    company_created = setup - 200 * DAY

    users = []
    for uid, (name, login, locale, currency, tz, offset, active) in enumerate(_USERS, start=1):
        created = company_created + (uid - 1) * 30 * DAY + rng.randrange(DAY)
        last_login = clock.now - rng.randrange(3 * DAY) if active else created + 400 * DAY
        admin = uid == 1  # the user who created the company, and whose API token the sandbox serves
        users.append({
            "id": uid,
            "name": name,
            "default_currency": currency,
            "locale": locale,
            "lang": 1,
            "email": f"{login}@{COMPANY_DOMAIN}.{TLD}",
            "phone": f"+49 30 {2000000 + uid * 1111}" if uid % 2 else None,
            "activated": active,
            "last_login": clock.v1(last_login),
            "created": clock.v1(created),
            "modified": clock.v1(max(created, last_login)) if uid != 3 else None,
            "has_created_company": admin,
            "access": [{"app": "sales", "admin": admin, "permission_set_id": _uuid(rng)},
                       {"app": "global", "admin": admin, "permission_set_id": _uuid(rng)}],
            "active_flag": active,
            "timezone_name": tz,
            "timezone_offset": offset,
            "role_id": 1,
            "icon_url": None,
            "is_you": admin,
            "is_deleted": False,
        })
    user_table = tuple(u for u, w in zip(range(1, len(_USERS) + 1), _OWNER_WEIGHTS, strict=True) for _ in range(w))

    activity_types = [{
        "id": tid, "name": name, "icon_key": icon, "color": "FFFFFF" if not custom else "0C7BE5",
        "order_nr": tid, "key_string": key, "active_flag": True, "is_custom_flag": custom,
        "add_time": clock.v1(company_created if not custom else setup),
        "update_time": clock.v1(company_created if not custom else setup + DAY),
    } for tid, (name, key, icon, custom) in enumerate(_ACTIVITY_TYPES, start=1)]

    lead_labels = [{
        "id": _uuid(rng), "name": name, "color": color,
        "add_time": clock.iso_ms(setup, 0), "update_time": clock.iso_ms(setup + n * 3600, 0),
    } for n, (name, color) in enumerate((("Hot", "red"), ("Warm", "yellow"), ("Cold", "blue"),
                                         ("Partner", "purple")))]

    pipelines, stages = [], []
    stages_by_pipeline: dict[int, list[dict]] = {}
    stage_id = 0
    for pid, (name, prob_enabled, stage_specs) in enumerate(_PIPELINES, start=1):
        pipelines.append({"id": pid, "name": name, "order_nr": pid, "is_deleted": False,
                          "is_deal_probability_enabled": prob_enabled, "add_time": clock.iso(setup + pid * 600),
                          "update_time": clock.iso(setup + pid * 600 + 7 * DAY)})
        stages_by_pipeline[pid] = []
        for order, (stage_name, probability, rotten) in enumerate(stage_specs, start=1):
            stage_id += 1
            stage = {"id": stage_id, "order_nr": order, "name": stage_name, "is_deleted": False,
                     "deal_probability": probability, "pipeline_id": pid, "is_deal_rot_enabled": rotten is not None,
                     "days_to_rotten": rotten, "add_time": clock.iso(setup + pid * 600 + order),
                     "update_time": clock.iso(setup + pid * 600 + order)}
            stages.append(stage)
            stages_by_pipeline[pid].append(stage)

    ids = _OptionIds(1)
    person_label_ids = ids.take(4)
    org_label_ids = ids.take(3)
    deal_label_ids = ids.take(4)
    industry_ids = ids.take(len(_INDUSTRIES))
    channel_ids = ids.take(len(_CHANNELS))
    status_options = [{"id": s, "label": s.capitalize(), "color": None} for s in ("open", "won", "lost", "deleted")]
    person_fields, person_custom = _fields_for(
        "person", seed, _PERSON_BUILTINS, _PERSON_CUSTOM, ids,
        {"label_ids": _options(person_label_ids, ("Customer", "Hot lead", "Warm lead", "Cold lead"),
                               ("green", "red", "yellow", "blue"))})
    organization_fields, org_custom = _fields_for(
        "organization", seed, _ORG_BUILTINS, _ORG_CUSTOM, ids,
        {"label_ids": _options(org_label_ids, ("Customer", "Prospect", "Partner"), ("green", "blue", "purple")),
         "industry": _options(industry_ids, _INDUSTRIES)})
    deal_fields, deal_custom = _fields_for(
        "deal", seed, _DEAL_BUILTINS, _DEAL_CUSTOM, ids,
        {"label_ids": _options(deal_label_ids, ("Hot", "Warm", "Cold", "Upsell"), ("red", "yellow", "blue", "green")),
         "channel": _options(channel_ids, _CHANNELS), "status": status_options})
    return _Catalogue(
        users=users, user_table=user_table, activity_types=activity_types, lead_labels=lead_labels,
        pipelines=pipelines, stages=stages, stages_by_pipeline=stages_by_pipeline,
        person_fields=person_fields, deal_fields=deal_fields, organization_fields=organization_fields,
        person_custom=person_custom, deal_custom=deal_custom, org_custom=org_custom,
        person_label_ids=person_label_ids, org_label_ids=org_label_ids, deal_label_ids=deal_label_ids,
        industry_ids=industry_ids, channel_ids=channel_ids,
    )


_CODE_OFFSET = 1 << 32  # parent codes may be negative (-1: none); shifted to fit below _CODE_BITS
_CODE_BITS = 1 << 34


def _sorted_times(rng: random.Random, n: int, lo: int, hi: int,
                  parent: Callable[[], tuple[int, int]] | None = None,
                  lag_days: float = 30) -> Iterator[tuple[int, int]]:
    """``n`` (add time, parent code) pairs in creation order: ids then follow add times, as in Pipedrive.

    Without ``parent`` (or when it returns code -1, "no parent") the times are uniform over
    ``[lo, hi)`` and the code is -1. Otherwise each record picks a parent (code, add time) and is
    created some days after it (exponential, mean ``lag_days``): a deal follows its person within
    weeks, an activity its deal. A parent too young for the drawn lag is swapped for another, so
    children spread over the years like their parents instead of piling up near ``hi``.

    Each pair is kept as one int while sorting: a million tuples of two ints would cost three
    times the memory, at the moment the account is largest.
    """
    rand, expovariate = rng.random, rng.expovariate
    rate = 1 / (lag_days * DAY)
    keys = []
    for _ in range(n):
        if parent is None:
            code, add = -1, lo + int(rand() * (hi - lo))
        else:
            for _attempt in range(4):
                code, born = parent()
                if code == -1:  # the parent chose "none": an orphan, uniform like the parents
                    add = lo + int(rand() * (hi - lo))
                    break
                add = born + int(expovariate(rate))
                if add < hi:
                    break
            else:
                add = born + int(rand() * (hi - born))
        keys.append(add * _CODE_BITS + code + _CODE_OFFSET)
    keys.sort()
    for key in keys:
        add, code = divmod(key, _CODE_BITS)
        yield add, code - _CODE_OFFSET


# -------------------------------------------------------------------- organizations
@dataclass
class _Orgs:
    records: list[dict]
    add: list[int]
    locale: list[int]
    domain: list[str]
    name: list[str]


def _generate_organizations(n: int, rng: random.Random, clock: _Clock, cat: _Catalogue) -> _Orgs:
    rand = rng.random
    users = cat.user_table
    segment = cat.org_custom["Segment"]
    out = _Orgs([], [], [], [], [])
    seen_domains: set[str] = set()
    for index, (add, _) in enumerate(_sorted_times(rng, n, clock.start, clock.now)):
        oid = index + 1
        li = _LOCALE_TABLE[int(rand() * len(_LOCALE_TABLE))]
        compiled = _COMPILED[li]
        loc = compiled.locale
        stem, stem_ascii = _company_stem(rng, loc)
        stem2 = loc.last_names[int(rand() * len(loc.last_names))][0]
        ci = int(rand() * len(loc.cities))
        city = loc.cities[ci][0]
        pattern = loc.companies[int(rand() * len(loc.companies))]
        name = pattern.format(stem=stem, stem2=stem2, city=city, word=_COMPANY_WORDS[int(rand() * len(_COMPANY_WORDS))])
        label = f"{stem_ascii or 'company'}{'-' + _ascii(stem2) if '{stem2}' in pattern else ''}"
        domain = f"{label}.{TLD}" if f"{label}.{TLD}" not in seen_domains else f"{label}-{oid}.{TLD}"
        seen_domains.add(domain)
        update = clock.later(rng, add)
        r = rand()
        address: dict[str, str] | None = None
        if r < 0.80:
            address = _address(rng, compiled, ci)
        elif r < 0.90:  # typed as free text and never geocoded: only `value`
            address = {"value": f"{loc.streets[int(rand() * len(loc.streets))]} {1 + int(rand() * 200)}, {city}"}
        record: dict[str, Any] = {
            "id": oid,
            "name": name,
            "owner_id": users[int(rand() * len(users))],
            "add_time": (added := clock.iso(add)),
            "update_time": added if update == add else clock.iso(update),
            "is_deleted": rand() < ORG_DELETED,
            "visible_to": 3 if rand() < 0.8 else 7,
            "label_ids": [cat.org_label_ids[int(rand() * 3)]] if rand() < 0.3 else [],
            "website": f"https://www.{domain}" if rand() < 0.7 else None,
            "linkedin": f"https://www.linkedin.com/company/{domain.split('.')[0]}" if rand() < 0.3 else None,
            "industry": cat.industry_ids[int(rand() * len(cat.industry_ids))] if rand() < 0.75 else None,
            "annual_revenue": int(10 ** (5 + rand() * 4)) // 1000 * 1000 if rand() < 0.4 else None,
            "employee_count": int(10 ** (rand() * 4.5)) if rand() < 0.6 else None,
            "custom_fields": {segment.code: segment.option_ids[int(rand() * len(segment.option_ids))]
                              if rand() < 0.7 else None},
        }
        if address is not None:
            record["address"] = address
        out.records.append(record)
        out.add.append(add)
        out.locale.append(li)
        out.domain.append(domain)
        out.name.append(name)
    return out


def _company_stem(rng: random.Random, loc: _Locale) -> tuple[str, str]:
    pool = loc.company_stems if rng.random() < 0.4 else loc.last_names
    return pool[int(rng.random() * len(pool))]


def _address(rng: random.Random, compiled: _CompiledLocale, city_index: int) -> dict[str, str]:
    """A geocoded address object: the parts v2 lists, missing parts left out (they are not nullable)."""
    loc = compiled.locale
    city, region, _ = loc.cities[city_index]
    parts = {
        "route": loc.streets[int(rng.random() * len(loc.streets))],
        "street_number": str(1 + int(rng.random() * 250)),
        "postal_code": compiled.postal[city_index].draw(rng),
        "locality": city,
        "admin_area_level_1": region,
        "country": loc.country,
    }
    value = loc.address_format.format(**parts)
    address = {"value": value, "country": loc.country, "admin_area_level_1": region, "locality": city,
               "route": parts["route"], "street_number": parts["street_number"]}
    if parts["postal_code"]:
        address["postal_code"] = parts["postal_code"]
    if rng.random() < 0.15:
        address["subpremise"] = f"{1 + int(rng.random() * 30)}"
    return address


# -------------------------------------------------------------------------- persons
@dataclass
class _People:
    records: list[dict]
    add: list[int]
    org: list[int]  # organization index, -1 when not linked
    locale: list[int]


_INDUSTRY_TEXTS = ("Software", "software ", "SaaS", "IT-Dienstleistungen", "Maschinenbau", "Finance",
                   "Banking & Finance", "Финансы", "製造業", "소매", "Retail & E-commerce", "Healthcare", "Santé",
                   "Logística", "Education", "  Consulting", "CONSULTING", "Immobilien", "التجارة", "Γεωργία")
_LEAP_YEARS = (1972, 1980, 1988, 1992, 1996, 2000, 2004)
_BIRTHDAY_START = date(1950, 1, 1).toordinal()
_BIRTHDAY_DAYS = date(2006, 12, 31).toordinal() - _BIRTHDAY_START


def _weighted_count(rand: Callable[[], float], weights: Sequence[float]) -> int:
    r = rand()
    for count, weight in enumerate(weights):
        if r < weight:
            return count
        r -= weight
    return len(weights) - 1


def _email_local(rng: random.Random, first: str, last: str) -> str:
    """What people pick as the part before ``@``, from the ASCII forms of their names."""
    f, s = first or "info", last or "mail"
    n = int(rng.random() * 9)
    if n == 0:
        return f"{f}.{s}"
    if n == 1:
        return f"{f}{s}"
    if n == 2:
        return f"{f[0]}{s}"
    if n == 3:
        return f"{f}_{s}"
    if n == 4:
        return f"{s}.{f}"
    if n == 5:
        return f"{f}{rng.randrange(1, 100)}"
    if n == 6:
        return f"{f}.{s}{rng.randrange(50, 100)}"
    if n == 7:
        return f"{s}{f[0]}"
    return f"{f[0]}.{s}"


def _invalid_email(rng: random.Random, value: str, native_first: str) -> str:
    """A broken variant of a valid address, as CRMs collect them from forms and imports."""
    local, _, domain = value.partition("@")
    kind = _INVALID_EMAIL_KINDS[int(rng.random() * len(_INVALID_EMAIL_KINDS))]
    if kind == "missing_at":
        return f"{local}.{domain}"
    if kind == "space":
        cut = max(1, len(local) // 2)
        return f"{local[:cut]} {local[cut:]}@{domain}"
    if kind == "trailing_dot":
        return f"{value}."
    if kind == "double_at":
        return f"{local}@@{domain}"
    if kind == "no_domain":
        return f"{local}@"
    if kind == "no_tld":
        return f"{local}@{domain.split('.')[0]}"
    native = native_first.lower().replace(" ", "")
    return f"{native if not native.isascii() else native + 'ü'}.{local}@{domain}"  # unicode local part


def _messy_email(rng: random.Random, value: str) -> str:
    """The same address as typed by a human: capitals and stray spaces (still valid once normalised)."""
    local, _, domain = value.partition("@")
    n = int(rng.random() * 5)
    if n == 0:
        return f"  {value} "
    if n == 1:
        return f"{local.title()}@{domain.upper()}"
    if n == 2:
        return value.upper()
    if n == 3:
        return f" {local.capitalize()}@{domain}"
    return f"{local}@{domain.capitalize()}  "


def _person_emails(rng: random.Random, loc: _Locale, first: str, last: str, work_domain: str | None,
                   seen: set[str]) -> list[dict]:
    rand = rng.random
    count = _weighted_count(rand, EMAIL_COUNT_WEIGHTS)
    emails = []
    for k in range(count):
        if k == 0 and work_domain is not None:
            domain, label = work_domain, "work"
        else:
            domain = loc.mail_domains[int(rand() * len(loc.mail_domains))]
            label = "home" if rand() < 0.6 else "other"
        local = _email_local(rng, first, last)
        value = f"{local}@{domain}"
        while value in seen:  # unintended collisions would blur the duplicate groups made on purpose
            value = f"{local}.{rng.randrange(10, 10_000_000)}@{domain}"
        seen.add(value)
        emails.append({"value": value, "primary": False, "label": label})
    if emails:
        r = rand()
        if r >= 0.02:  # 2 % carry no primary flag at all
            primary = 1 if len(emails) > 1 and r < 0.32 else 0
            emails[primary]["primary"] = True
    return emails


def _person_phones(rng: random.Random, compiled: _CompiledLocale) -> list[dict]:
    rand = rng.random
    count = _weighted_count(rand, PHONE_COUNT_WEIGHTS)
    phones = []
    for k in range(count):
        r = rand()
        if r < 0.55:
            value = compiled.phones_intl[int(rand() * len(compiled.phones_intl))].draw(rng)
        elif r < 0.88:
            value = compiled.phones_local[int(rand() * len(compiled.phones_local))].draw(rng)
        elif r < 0.95:
            number = compiled.phones_intl[int(rand() * len(compiled.phones_intl))].draw(rng)
            fmt = _EXTENSION_FORMATS[int(rand() * len(_EXTENSION_FORMATS))]
            value = fmt.format(number=number, ext=rng.randrange(1, 1000))
        else:
            value = _GARBAGE_PHONES[int(rand() * len(_GARBAGE_PHONES))]
        label = ("work" if rand() < 0.6 else "mobile") if k == 0 else _PHONE_LABELS[int(rand() * 4)]
        phones.append({"value": value, "primary": k == 0, "label": label})
    return phones


def _birthday(rng: random.Random) -> str:
    if rng.random() < 0.03:
        return f"{_LEAP_YEARS[int(rng.random() * len(_LEAP_YEARS))]}-02-29"
    return date.fromordinal(_BIRTHDAY_START + int(rng.random() * _BIRTHDAY_DAYS)).isoformat()


def _amount(rng: random.Random, currency: str, low_eur: float = 500, high_eur: float = 200_000) -> float | int:
    """A log-uniform amount in ``currency``; yen and won in whole units, others sometimes with cents."""
    eur = low_eur * (high_eur / low_eur) ** rng.random()
    value = eur * _UNITS_PER_EUR[currency]
    if currency in _WHOLE_UNITS:
        return int(round(value, -3))
    if rng.random() < 0.2:
        return round(value, 2)
    return int(round(value, -1))


def _currency(rng: random.Random, loc: _Locale) -> str:
    r = rng.random()
    if r < 0.75:
        return loc.currency
    return "USD" if r < 0.9 else "EUR"


def _generate_persons(n: int, rng: random.Random, clock: _Clock, cat: _Catalogue, orgs: _Orgs) -> _People:
    rand = rng.random
    n_orgs = len(orgs.records)
    users = cat.user_table
    label_ids = cat.person_label_ids
    custom_values = _person_custom_values(cat.person_custom)
    seen: set[str] = set()
    names: dict[tuple[int, int, int, bool], tuple[str, str]] = {}
    clean: list[int] = []  # persons whose primary email is valid and normalised: duplicate leaders

    def parent() -> tuple[int, int]:
        if n_orgs and rand() < PERSON_ORG_LINKED:
            o = int(rand() * n_orgs)
            return o, orgs.add[o]
        return -1, clock.start

    out = _People([], [], [], [])
    for index, (add, org) in enumerate(_sorted_times(rng, n, clock.start, clock.now, parent, lag_days=120)):
        pid = index + 1
        li = orgs.locale[org] if org >= 0 and rand() < 0.85 else _LOCALE_TABLE[int(rand() * len(_LOCALE_TABLE))]
        compiled = _COMPILED[li]
        loc = compiled.locale
        fi, la = int(rand() * len(loc.first_names)), int(rand() * len(loc.last_names))
        first, first_ascii = loc.first_names[fi]
        last, last_ascii = loc.last_names[la]
        shout = loc.code == "fr_FR" and rand() < 0.2  # "Jean DUPONT", as French forms write it
        mononym = rand() < 0.005
        key = (li, fi, la, shout)
        if mononym:
            name = first
        elif (pair := names.get(key)) is not None:
            name, last = pair
        else:
            if shout:
                last = last.upper()
            name = f"{last}{loc.name_separator}{first}" if loc.family_first else f"{first} {last}"
            names[key] = (name, last)  # a few thousand combinations: share the strings
        work_domain = orgs.domain[org] if org >= 0 and rand() < 0.8 else None
        emails = _person_emails(rng, loc, first_ascii, last_ascii, work_domain, seen)
        if emails:
            r = rand()
            primary = _primary(emails)
            if r < PERSON_INVALID_EMAIL:
                primary["value"] = _invalid_email(rng, primary["value"], first)
            elif r < PERSON_INVALID_EMAIL + PERSON_MESSY_EMAIL:
                primary["value"] = _messy_email(rng, primary["value"])
            else:
                clean.append(index)
        update = clock.later(rng, add)
        record: dict[str, Any] = {"id": pid, "name": name, "first_name": first}
        if not mononym:
            record["last_name"] = last
        record["owner_id"] = users[int(rand() * len(users))]
        if org >= 0:
            record["org_id"] = orgs.records[org]["id"]  # the same int object: no copy per reference
        record["add_time"] = added = clock.iso(add)
        record["update_time"] = added if update == add else clock.iso(update)
        record["emails"] = emails
        record["phones"] = _person_phones(rng, compiled)
        record["is_deleted"] = rand() < PERSON_DELETED
        r = rand()
        record["visible_to"] = 3 if r < 0.85 else (7 if r < 0.97 else 1)
        record["label_ids"] = sorted({label_ids[int(rand() * 4)] for _ in range(1 + int(rand() * 2))}) \
            if rand() < 0.2 else []
        if rand() < 0.08:
            record["picture_id"] = 10_000 + pid
        record["custom_fields"] = custom_values(rng, loc)
        out.records.append(record)
        out.add.append(add)
        out.org.append(org)
        out.locale.append(li)
    _share_emails(rng, out.records, clean, round(n * PERSON_DUPLICATE_EMAIL))
    _share_phones(rng, out.records, round(n * PERSON_SHARED_PHONE / 2))
    return out


def _person_custom_values(fields: dict[str, _OptionField]) -> Callable[[random.Random, _Locale], dict[str, Any]]:
    """A function drawing one person's ``custom_fields``: every key, ``None`` where unset."""
    lead_source, size, interests = fields["Lead source"], fields["Company size"], fields["Interests"]
    newsletter = fields["Newsletter opt-in"]
    industry, birthday, score, budget = (fields[name].code for name in ("Industry", "Birthday", "Score",
                                                                        "Annual budget"))

    def draw(rng: random.Random, loc: _Locale) -> dict[str, Any]:
        rand = rng.random
        return {
            lead_source.code: lead_source.option_ids[int(rand() * len(lead_source.option_ids))]
            if rand() < 0.8 else None,
            industry: _INDUSTRY_TEXTS[int(rand() * len(_INDUSTRY_TEXTS))] if rand() < 0.6 else None,
            size.code: size.option_ids[int(rand() * len(size.option_ids))] if rand() < 0.7 else None,
            interests.code: sorted(rng.sample(interests.option_ids, 1 + int(rand() * 4))) if rand() < 0.65 else None,
            birthday: _birthday(rng) if rand() < 0.4 else None,
            score: round(rand() * 100, 1) if rand() < 0.7 else None,
            newsletter.code: newsletter.option_ids[0 if rand() < 0.6 else 1] if rand() < 0.85 else None,
            budget: _money(rng, loc) if rand() < 0.35 else None,
        }

    return draw


def _money(rng: random.Random, loc: _Locale) -> dict[str, Any]:
    currency = _currency(rng, loc)
    return {"value": _amount(rng, currency, 1_000, 500_000), "currency": currency}


def _primary(emails: list[dict]) -> dict:
    return next((e for e in emails if e["primary"]), emails[0])


def _share_emails(rng: random.Random, persons: list[dict], clean: list[int], members: int) -> None:
    """Give ``members`` persons the primary email of another person (groups of 2-3).

    Leaders come from ``clean`` (valid, normalised addresses), so each group is unambiguous. Half
    of the followers are the same human entered twice (same name); some addresses differ only in
    capitals and padding, which must still count as the same contact.
    """
    if len(persons) < 3 or not clean:
        return
    used: set[int] = set()
    placed = 0
    attempts = 0
    while placed < members and attempts < members * 20:
        attempts += 1
        leader = clean[int(rng.random() * len(clean))]
        if leader in used:
            continue
        value = _primary(persons[leader]["emails"])["value"]
        size = min(3 if rng.random() < 0.3 else 2, members - placed + 1)
        followers = []
        while len(followers) < size - 1:
            f = int(rng.random() * len(persons))
            if f != leader and f not in used and f not in followers:
                followers.append(f)
        used.add(leader)
        for f in followers:
            used.add(f)
            variant = value if rng.random() < 0.6 else _messy_email(rng, value)
            person = persons[f]
            if person["emails"]:
                _primary(person["emails"])["value"] = variant
            else:
                person["emails"] = [{"value": variant, "primary": True, "label": "work"}]
            if rng.random() < 0.5:
                source = persons[leader]
                person["name"], person["first_name"] = source["name"], source["first_name"]
                if "last_name" in source:
                    person["last_name"] = source["last_name"]
                else:
                    person.pop("last_name", None)
            placed += 1


def _share_phones(rng: random.Random, persons: list[dict], pairs: int) -> None:
    """Put one person's phone on another person too (colleagues sharing a switchboard, a family line)."""
    if len(persons) < 2:
        return
    done = attempts = 0
    while done < pairs and attempts < pairs * 20:
        attempts += 1
        a, b = int(rng.random() * len(persons)), int(rng.random() * len(persons))
        phones = persons[a]["phones"]
        if a == b or not phones or phones[0]["value"] in _GARBAGE_PHONES:
            continue
        target = persons[b]["phones"]
        target.append({"value": phones[0]["value"], "primary": not target, "label": "work"})
        done += 1


# ---------------------------------------------------------------------------- leads
@dataclass
class _Leads:
    records: list[dict]
    add: list[int]
    update: list[int]
    person: list[int]  # person index or -1
    org: list[int]  # organization index or -1


_LEAD_SOURCES = (("Manually created", "ManuallyCreated", 40), ("Web forms", "WebForms", 20), ("API", "API", 12),
                 ("Import", "Import", 10), ("Prospector", "Prospector", 8), ("Chatbot", "Chatbot", 5),
                 ("Live chat", "LiveChat", 5))
_LEAD_SOURCE_TABLE = tuple(i for i, (_, _, w) in enumerate(_LEAD_SOURCES) for _ in range(w))
_LEAD_TITLES = ("{name} lead", "{name} lead", "{name} lead", "Website inquiry: {name}", "Anfrage {name}",
                "Demo request – {name}", "Demande de devis {name}", "{name} 商談", "Запрос {name}")
_CAMPAIGNS = ("Spring Promo 2026", "Black Friday", "Webinar: AI in Sales", "Q3 Outbound", "Messe München 2025",
              "Newsletter März", "Salon VivaTech", "LinkedIn Ads EMEA", "展示会 2026", "Referral program")
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _generate_leads(n: int, rng: random.Random, clock: _Clock, cat: _Catalogue, orgs: _Orgs,
                    people: _People) -> _Leads:
    rand = rng.random
    n_persons, n_orgs = len(people.records), len(orgs.records)
    users = cat.user_table
    label_ids = [label["id"] for label in cat.lead_labels]
    deal_source, campaign_code = cat.deal_custom["Lead source"], cat.deal_custom["Campaign"].code

    def parent() -> tuple[int, int]:
        if n_persons and (rand() < 0.9 or not n_orgs):
            p = int(rand() * n_persons)
            return p, people.add[p]
        o = int(rand() * n_orgs)
        return -2 - o, orgs.add[o]

    out = _Leads([], [], [], [], [])
    if not (n_persons or n_orgs):
        return out
    for add, code in _sorted_times(rng, n, clock.start, clock.now, parent, lag_days=45):
        person = code if code >= 0 else -1
        org = people.org[code] if code >= 0 else -2 - code
        if person >= 0:
            display = people.records[person]["name"]
            loc = LOCALES[people.locale[person]]
        else:
            display = orgs.name[org]
            loc = LOCALES[orgs.locale[org]]
        source_name, origin, _ = _LEAD_SOURCES[_LEAD_SOURCE_TABLE[int(rand() * len(_LEAD_SOURCE_TABLE))]]
        update = clock.later(rng, add)
        has_channel = rand() < 0.4
        owner = users[int(rand() * len(users))]
        currency = _currency(rng, loc)
        record: dict[str, Any] = {
            "id": _uuid(rng),
            "title": _LEAD_TITLES[int(rand() * len(_LEAD_TITLES))].format(name=display),
            "owner_id": owner,
            "creator_id": owner if rand() < 0.7 else users[int(rand() * len(users))],
            "label_ids": rng.sample(label_ids, int(rand() * 3)),
            "person_id": people.records[person]["id"] if person >= 0 else None,
            "organization_id": orgs.records[org]["id"] if org >= 0 else None,
            "source_name": source_name,
            "origin": origin,
            "origin_id": f"integration-{rng.randrange(100, 999)}" if origin == "API" else None,
            "channel": cat.channel_ids[int(rand() * len(cat.channel_ids))] if has_channel else None,
            "channel_id": _CAMPAIGNS[int(rand() * len(_CAMPAIGNS))] if has_channel and rand() < 0.5 else None,
            "source_deal_id": None,
            "is_archived": rand() < LEAD_ARCHIVED,
            "was_seen": rand() < 0.7,
            "value": {"amount": _amount(rng, currency, 200, 50_000), "currency": currency} if rand() < 0.7 else None,
            "expected_close_date": clock.day(add + int((14 + rand() * 120) * DAY)) if rand() < 0.3 else None,
            "next_activity_id": None,
            "add_time": "",  # stamped below, with milliseconds
            "update_time": "",
            "visible_to": "3" if rand() < 0.85 else "7",
            "cc_email": f"{COMPANY_DOMAIN}+{cat.company_id}+lead"
                        f"{''.join(_BASE62[rng.randrange(62)] for _ in range(20))}@dev.pipedrivemail.com",
        }
        # Leads inherit the deal custom fields, in v1 form at the root; unset ones are left out.
        if rand() < 0.4:
            record[deal_source.code] = str(deal_source.option_ids[int(rand() * len(deal_source.option_ids))])
        if rand() < 0.3:
            record[campaign_code] = _CAMPAIGNS[int(rand() * len(_CAMPAIGNS))]
        _stamp_lead(clock, record, add, update, len(out.records))
        out.records.append(record)
        out.add.append(add)
        out.update.append(update)
        out.person.append(person)
        out.org.append(org)
    return out


def _stamp_lead(clock: _Clock, record: dict, add: int, update: int, salt: int) -> None:
    """v1 lead timestamps carry milliseconds; derived from the index so they need no extra draws."""
    ms = (salt * 7919) % 1000
    record["add_time"] = clock.iso_ms(add, ms)
    record["update_time"] = clock.iso_ms(update, ms if update == add else (ms + 137) % 1000)


# ---------------------------------------------------------------------------- deals
@dataclass
class _Deals:
    records: list[dict]
    add: list[int]
    person: list[int]  # person index or -1
    org: list[int]  # organization index or -1


_PRODUCTS = ("CRM rollout", "Annual license", "Pilot project", "Support package", "Onboarding", "Hardware refresh",
             "Jahreslizenz", "Licence annuelle", "年間ライセンス", "Внедрение", "Consulting days")
_LOST_REASONS = ("Price too high", "Chose a competitor", "No budget", "Bad timing", "No response", "Kein Bedarf",
                 "Trop cher", "Не ответил", "予算不足", "Project cancelled")
_DEAL_ORIGINS = (("ManuallyCreated", 60), ("API", 12), ("Import", 10), ("WebForms", 8), ("LiveChat", 4),
                 ("Chatbot", 3), ("Marketplace", 3))
_DEAL_ORIGIN_TABLE = tuple(o for o, w in _DEAL_ORIGINS for _ in range(w))
_PIPELINE_TABLE = tuple(pid for pid, w in enumerate(_PIPELINE_WEIGHTS, start=1) for _ in range(w))


def _generate_deals(n: int, rng: random.Random, clock: _Clock, cat: _Catalogue, orgs: _Orgs, people: _People,
                    leads: _Leads) -> _Deals:
    rand = rng.random
    n_persons, n_orgs, n_leads = len(people.records), len(orgs.records), len(leads.records)
    users = cat.user_table
    deal_source, campaign_code = cat.deal_custom["Lead source"], cat.deal_custom["Campaign"].code

    converted: set[int] = set()  # a lead turns into one deal only

    # A parent code: 3*i for person i, 3*i+1 for organization i, 3*i+2 for lead i.
    def parent() -> tuple[int, int]:
        r = rand()
        if n_leads and r < DEAL_FROM_LEAD:
            i = int(rand() * n_leads)
            if i not in converted:
                converted.add(i)
                return 3 * i + 2, leads.add[i]
        if n_persons and (r < 0.92 or not n_orgs):
            i = int(rand() * n_persons)
            return 3 * i, people.add[i]
        i = int(rand() * n_orgs)
        return 3 * i + 1, orgs.add[i]

    out = _Deals([], [], [], [])
    if not (n_persons or n_orgs):
        return out
    for index, (add, code) in enumerate(_sorted_times(rng, n, clock.start, clock.now, parent, lag_days=40)):
        did = index + 1
        kind, i = code % 3, code // 3
        lead_id: str | None = None
        origin = _DEAL_ORIGIN_TABLE[int(rand() * len(_DEAL_ORIGIN_TABLE))]
        if kind == 0:
            person, org = i, people.org[i]
        elif kind == 1:
            person, org = -1, i
        else:
            person, org = leads.person[i], leads.org[i]
            lead = leads.records[i]
            lead_id, origin = lead["id"], lead["origin"]
            lead["is_archived"] = True  # converted: archived from then on
            leads.update[i] = max(leads.update[i], add)
            _stamp_lead(clock, lead, leads.add[i], leads.update[i], i)
        if person >= 0:
            who, li = people.records[person]["name"], people.locale[person]
        else:
            who, li = orgs.name[org], orgs.locale[org]
        party = orgs.name[org] if org >= 0 else who
        loc = LOCALES[li]

        pipeline_id = _PIPELINE_TABLE[int(rand() * len(_PIPELINE_TABLE))]
        stages = cat.stages_by_pipeline[pipeline_id]
        r = rand()
        status = "open" if r < 0.5 else ("won" if r < 0.8 else "lost")
        early = stages[min(int(rand() * rand() * len(stages) * 1.5), len(stages) - 1)] if status != "won" else None
        stage = stages[-1] if status == "won" else early  # early stages fuller
        close = clock.after(rng, add, 60) if status != "open" else None  # a sales cycle of weeks
        moved = stage["order_nr"] > 1 or rand() < 0.3
        stage_change = clock.between(rng, add, close if close is not None else clock.now) if moved else None
        update = clock.later(rng, max(add, close or add, stage_change or add))
        archive = None
        if rand() < DEAL_ARCHIVED:
            archive = clock.between(rng, close or add, clock.now)
            update = max(update, archive)
        deleted = rand() < DEAL_DELETED
        if deleted:  # v2: the update time of a deleted record is its delete time
            update = clock.between(rng, update, clock.now)
        currency = _currency(rng, loc)
        value = 0 if rand() < 0.03 else _amount(rng, currency)
        if pipeline_id == 3:
            title = f"Renewal {clock.day(add)[:4]} – {party}"
        elif pipeline_id == 2:
            title = f"Partnership: {party}"
        else:
            title = f"{party} deal" if rand() < 0.5 else f"{party} – {_PRODUCTS[int(rand() * len(_PRODUCTS))]}"
        has_channel = rand() < 0.4
        close_day = clock.day(close) if close is not None else None
        owner = users[int(rand() * len(users))]

        record: dict[str, Any] = {
            "id": did,
            "title": title,
            "creator_user_id": owner if rand() < 0.8 else users[int(rand() * len(users))],
            "owner_id": owner,
            "value": value,
        }
        if person >= 0:
            record["person_id"] = people.records[person]["id"]
        if org >= 0:
            record["org_id"] = orgs.records[org]["id"]
        record["stage_id"] = stage["id"]
        record["pipeline_id"] = pipeline_id
        record["currency"] = currency
        record["archive_time"] = clock.iso(archive) if archive is not None else None
        record["add_time"] = added = clock.iso(add)
        record["update_time"] = added if update == add else clock.iso(update)
        if stage_change is not None:
            record["stage_change_time"] = clock.iso(stage_change)
        record["status"] = status
        record["is_archived"] = archive is not None
        record["is_deleted"] = deleted
        record["probability"] = None if rand() < 0.88 else 5 * int(rand() * 21)
        record["lost_reason"] = _LOST_REASONS[int(rand() * len(_LOST_REASONS))] \
            if status == "lost" and rand() < 0.7 else None
        record["visible_to"] = 3 if rand() < 0.85 else 7
        record["close_time"] = clock.iso(close) if close is not None else None
        if status == "won":
            record["won_time"] = record["close_time"]
        elif status == "lost":
            record["lost_time"] = record["close_time"]
        record["local_won_date"] = close_day if status == "won" else None
        record["local_lost_date"] = close_day if status == "lost" else None
        record["local_close_date"] = close_day
        if rand() < 0.7:
            record["expected_close_date"] = clock.day(add + int((7 + rand() * 113) * DAY))
        record["label_ids"] = [cat.deal_label_ids[int(rand() * 4)]] if rand() < 0.25 else []
        record["origin"] = origin
        record["origin_id"] = f"integration-{rng.randrange(100, 999)}" if origin == "API" else None
        record["channel"] = cat.channel_ids[int(rand() * len(cat.channel_ids))] if has_channel else None
        record["channel_id"] = _CAMPAIGNS[int(rand() * len(_CAMPAIGNS))] if has_channel and rand() < 0.5 else None
        if lead_id is not None:  # opt-in (include_fields): kept only where it says something
            record["source_lead_id"] = lead_id
        record["acv"] = None
        record["arr"] = None
        record["mrr"] = None
        record["custom_fields"] = {
            deal_source.code: deal_source.option_ids[int(rand() * len(deal_source.option_ids))]
            if rand() < 0.65 else None,
            campaign_code: _CAMPAIGNS[int(rand() * len(_CAMPAIGNS))] if rand() < 0.4 else None,
        }
        out.records.append(record)
        out.add.append(add)
        out.person.append(person)
        out.org.append(org)
    return out


# ----------------------------------------------------------------------- activities
_ACTIVITY_MIX = (("call", 30), ("meeting", 18), ("task", 20), ("email", 14), ("deadline", 8), ("lunch", 4),
                 ("video_call", 6))
_ACTIVITY_TABLE = tuple(t for t, w in _ACTIVITY_MIX for _ in range(w))
_SUBJECTS = {
    "call": ("Call {first}", "Follow-up call with {first}", "Rückruf {first} {last}", "Позвонить {first}",
             "Appeler {first}", "{first}さんに電話", "Discovery call"),
    "meeting": ("Demo for {org}", "Kick-off meeting", "Meeting with {first} {last}", "Termin bei {org}",
                "Réunion avec {first}", "{first}님과 미팅", "会议：{org}"),
    "task": ("Send proposal", "Prepare contract for {org}", "Update CRM notes", "Angebot schicken",
             "Отправить КП", "Check references"),
    "email": ("Send pricing to {first}", "Email follow-up", "Intro email", "Envoyer la brochure"),
    "deadline": ("Proposal deadline", "Contract signature due", "RFP deadline {org}", "Fristablauf Angebot"),
    "lunch": ("Lunch with {first}", "Business lunch {org}", "Mittagessen mit {first}"),
    "video_call": ("Video call with {first}", "Zoom demo {org}"),
}
_NOTES = ("<p>Interested in the premium plan.</p>", "<p>Bitte Angebot bis Freitag.</p>",
          "<p>Клиент просит скидку 10%.</p>", "<p>予算は来期に確定。</p>",
          "<p>Call back after lunch &amp; before 5pm</p>", "<ul><li>pricing</li><li>SSO</li></ul>")
_TIMES = tuple(f"{h:02d}:{m:02d}:00" for h in range(8, 19) for m in (0, 15, 30, 45))
_TIMED = {"call", "meeting", "lunch", "video_call"}
_DURATIONS = {"call": ("00:15:00", "00:30:00"), "meeting": ("01:00:00", "00:30:00", "02:00:00"),
              "lunch": ("01:30:00",), "video_call": ("00:45:00", "01:00:00")}
_CONFERENCE = (("google_meet", "https://meet.google.example/{id}"), ("zoom", "https://zoom.example/j/{id}"),
               ("microsoft_teams", "https://teams.example/l/meetup-join/{id}"))


def _generate_activities(n: int, rng: random.Random, clock: _Clock, cat: _Catalogue, orgs: _Orgs,
                         people: _People, leads: _Leads, deals: _Deals) -> list[dict]:
    rand = rng.random
    n_persons, n_leads, n_deals = len(people.records), len(leads.records), len(deals.records)
    users = cat.user_table

    # A parent code: 3*i for deal i, 3*i+1 for person i, 3*i+2 for lead i.
    def parent() -> tuple[int, int]:
        r = rand()
        if n_deals and (r < 0.70 or not n_persons):
            i = int(rand() * n_deals)
            return 3 * i, deals.add[i]
        if n_leads and r >= 0.95:
            i = int(rand() * n_leads)
            return 3 * i + 2, leads.add[i]
        i = int(rand() * n_persons)
        return 3 * i + 1, people.add[i]

    records: list[dict] = []
    if not (n_persons or n_deals):
        return records
    for index, (add, code) in enumerate(_sorted_times(rng, n, clock.start, clock.now, parent, lag_days=25)):
        kind, i = code % 3, code // 3
        deal_id: int | None = None
        lead_id: str | None = None
        if kind == 0:
            person, org, deal_id = deals.person[i], deals.org[i], deals.records[i]["id"]
        elif kind == 1:
            person, org = i, people.org[i]
        else:
            person, org, lead_id = leads.person[i], leads.org[i], leads.records[i]["id"]
        person_record = people.records[person] if person >= 0 else None
        org_name = orgs.name[org] if org >= 0 else None
        activity_type = _ACTIVITY_TABLE[int(rand() * len(_ACTIVITY_TABLE))]
        templates = _SUBJECTS[activity_type]
        subject = templates[int(rand() * len(templates))]
        if "{" in subject:  # a fixed subject stays one shared string
            subject = subject.format(
                first=person_record["first_name"] if person_record else (org_name or ""),
                last=person_record.get("last_name", "") if person_record else "",
                org=org_name or (person_record["name"] if person_record else ""))
        due = add + int((rand() * 32 - 2) * DAY)
        overdue = due < clock.now
        done = rand() < (0.8 if overdue else 0.05)
        # Marked done around the due date (a day early to two days late), never before it was added.
        done_at = min(clock.now, max(add, due + int((rand() * 3 - 1) * DAY))) if done else None
        update = clock.later(rng, done_at or add)
        if rand() < ACTIVITY_DELETED:
            update = clock.between(rng, update, clock.now)
            deleted = True
        else:
            deleted = False
        owner = users[int(rand() * len(users))]

        record: dict[str, Any] = {
            "id": index + 1,
            "subject": subject,
            "type": activity_type,
            "owner_id": owner,
            "creator_user_id": owner if rand() < 0.85 else users[int(rand() * len(users))],
            "is_deleted": deleted,
            "add_time": (added := clock.iso(add)),
            "update_time": added if update == add else clock.iso(update),
        }
        if deal_id is not None:
            record["deal_id"] = deal_id
        if lead_id is not None:
            record["lead_id"] = lead_id
        if person >= 0:
            record["person_id"] = people.records[person]["id"]
        if org >= 0:
            record["org_id"] = orgs.records[org]["id"]
        record["due_date"] = clock.day(due)
        if activity_type in _TIMED and rand() < 0.85:
            record["due_time"] = _TIMES[int(rand() * len(_TIMES))]
            durations = _DURATIONS[activity_type]
            record["duration"] = durations[int(rand() * len(durations))]
        record["busy"] = activity_type in ("meeting", "lunch", "video_call")
        record["done"] = done
        if done_at is not None:
            record["marked_as_done_time"] = clock.iso(done_at)
        if activity_type == "meeting" and rand() < 0.3:
            li = people.locale[person] if person >= 0 else (orgs.locale[org] if org >= 0 else 0)
            compiled = _COMPILED[li]
            record["location"] = _address(rng, compiled, int(rand() * len(compiled.locale.cities)))
        participants = [{"person_id": record["person_id"], "primary": True}] if person >= 0 else []
        if participants and n_persons > 1 and rand() < 0.05:
            other = int(rand() * n_persons)
            if other != person:
                participants.append({"person_id": people.records[other]["id"], "primary": False})
        record["participants"] = participants
        if activity_type == "video_call" or (activity_type == "meeting" and rand() < 0.2):
            client, url = _CONFERENCE[int(rand() * len(_CONFERENCE))]
            meeting_id = f"{rng.randrange(10**9, 10**10)}"
            record["conference_meeting_client"] = client
            record["conference_meeting_url"] = url.format(id=meeting_id)
            record["conference_meeting_id"] = meeting_id
        if rand() < 0.25:
            record["note"] = _NOTES[int(rand() * len(_NOTES))]
        records.append(record)
    return records


# ------------------------------------------------------------------------------ CLI
def write_json(account: Account, out: Path) -> None:
    """Write the account as one JSON object, entity by entity (no deep copy of a big account)."""
    with out.open("w", encoding="utf-8") as fh:
        fh.write("{")
        for n, f in enumerate(fields(account)):
            fh.write(("," if n else "") + f"\n{json.dumps(f.name)}: ")
            value = getattr(account, f.name)
            if isinstance(value, list):
                fh.write("[")
                for i, item in enumerate(value):
                    fh.write(("," if i else "") + "\n  " + json.dumps(item, ensure_ascii=False))
                fh.write("\n]")
            else:
                fh.write(json.dumps(value, ensure_ascii=False))
        fh.write("\n}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.generator",
                                     description="Generate a Pipedrive sandbox account and write it as JSON.")
    parser.add_argument("--persons", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--now", help="ISO 8601 UTC reference time, e.g. 2026-11-24T12:00:00Z (default: now)")
    parser.add_argument("--out", type=Path, required=True, help="the JSON file to write")
    args = parser.parse_args(argv)
    now = datetime.fromisoformat(args.now) if args.now else None
    account = generate_account(args.persons, seed=args.seed, now=now)
    write_json(account, args.out)
    counts = {f.name: len(getattr(account, f.name)) for f in fields(account)
              if isinstance(getattr(account, f.name), list)}
    print(json.dumps({"out": str(args.out), **counts}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
