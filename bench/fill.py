"""Fill a database with a realistic volume of Blink data, fast.

    python bench/fill.py [--tickets 1000000] [--reset]

Uses `DATABASE_URL` when set, else an embedded PostgreSQL under bench/.data/postgres (never the
developer's .data/). The schema comes from the Alembic migrations; this script only adds rows.

What it makes (defaults): 5 tenants with 8 ticket types each, 500 customers, 10,000 sites, field
employees per tenant, one customer user per customer, 1,000,000 tickets over the last two years with
German titles and descriptions and about 3 comments each (a quarter of them internal notes), then the
full-text vectors of every ticket, the indexes and fresh statistics. Plus the accounts the load
generators log in with (see benchlib.py): an employee of one tenant, an administrator, and a customer
user with 50 sites of a big customer and some ticket types enabled for that customer.

Why it is fast: rows are generated in a worker thread while the previous chunk is streamed with binary
COPY on two connections; the tickets' secondary indexes and foreign keys are dropped during the load
and rebuilt afterwards from their own definitions (read from the catalog, so the schema stays exactly
what the migrations made); the search vectors are computed in a few big UPDATEs on two connections.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import math
import random
import sys
import uuid
from collections import Counter
from dataclasses import dataclass, field

import asyncpg
from benchlib import (
    ADMIN_EMAIL,
    EMPLOYEE_EMAIL,
    PASSWORD,
    PORTAL_EMAIL,
    Phases,
    database_url,
    is_embedded,
    sqlalchemy_url,
)

UTC = dt.UTC
CHUNK = 50_000  # tickets per generated chunk: big enough for COPY to stream, small enough for memory
PORTAL_USER_SITES = 50
PORTAL_CUSTOMER_SITES = 120  # the portal customer is a big one, so 50 assigned sites are a subset
FIELD_EMPLOYEES_PER_TENANT = 12
TYPES_ENABLED_PER_CUSTOMER = 4
HISTORY_DAYS = 730
MEAN_COMMENTS = 3.0

# --- vocabulary -------------------------------------------------------------------------------------

TENANTS = [
    ("NORD", "Blink Gebäudeservice Nord GmbH"),
    ("SUED", "Blink Gebäudeservice Süd GmbH"),
    ("WEST", "Blink Facility West GmbH"),
    ("OST", "Blink Facility Ost GmbH"),
    ("MITTE", "Blink Dienste Mitte GmbH"),
    ("RHEIN", "Blink Rhein-Main GmbH"),
    ("ALPEN", "Blink Alpenland GmbH"),
    ("KUEST", "Blink Küste GmbH"),
]
TICKET_TYPES = [  # (name, category, relative frequency)
    ("Reinigung", "standard", 30),
    ("Reklamation", "standard", 14),
    ("Schadensmeldung", "standard", 18),
    ("Winterdienst", "standard", 8),
    ("Grünpflege", "standard", 7),
    ("Hausmeisterdienst", "standard", 15),
    ("Sonderreinigung", "standard", 6),
    ("Abwesenheit", "absence", 2),
]
PROBLEMS = [
    "Wasserschaden",
    "Verstopfter Abfluss",
    "Defekte Beleuchtung",
    "Glasbruch",
    "Heizung ausgefallen",
    "Tür schließt nicht",
    "Graffiti",
    "Schimmelbefall",
    "Aufzug steht still",
    "Müllraum verschmutzt",
    "Reinigung nicht durchgeführt",
    "Rutschgefahr durch Glätte",
    "Laub auf dem Gehweg",
    "Taubenkot",
    "Toilette defekt",
    "Fenster undicht",
    "Feuerlöscher abgelaufen",
    "Rauchmelder piept",
    "Klimaanlage tropft",
    "Teppichboden verschmutzt",
    "Papierhandtücher leer",
    "Seifenspender kaputt",
    "Notausgang zugestellt",
    "Schlüssel verloren",
    "Parkplatz nicht geräumt",
    "Hecke zu hoch",
    "Wasserhahn tropft",
    "Stromausfall",
    "Lüftung sehr laut",
    "Ungeziefer gesichtet",
    "Sperrmüll abgestellt",
    "Briefkastenanlage beschädigt",
]
PLACES = [
    "im Treppenhaus",
    "im Eingangsbereich",
    "in der Tiefgarage",
    "im Büro {room}",
    "in der Teeküche",
    "im Sanitärbereich {floor}. OG",
    "im Keller",
    "auf dem Parkplatz",
    "im Besprechungsraum {room}",
    "am Haupteingang",
    "im Lager",
    "auf dem Flachdach",
    "im Innenhof",
    "in der Kantine",
    "im Aufzug",
    "im Flur {floor}. OG",
    "in Haus {house}",
    "an der Laderampe",
]
OBSERVATIONS = [
    "tritt Wasser aus der Decke aus",
    "ist die Beleuchtung im gesamten Bereich ausgefallen",
    "riecht es stark nach Abwasser",
    "liegen Glasscherben auf dem Boden",
    "funktioniert der Türöffner nicht mehr",
    "ist der Boden stark verschmutzt",
    "sind die Mülltonnen überfüllt",
    "ist es in den Räumen sehr kalt",
    "sind die Handläufe klebrig",
    "steht der Aufzug im Erdgeschoss",
    "ist die Fassade beschmiert",
    "wurden die Papierkörbe nicht geleert",
    "ist der Gehweg nicht gestreut",
    "blinkt die Notbeleuchtung",
    "sind an der Wand dunkle Flecken zu sehen",
]
SINCE = ["gestern Abend", "heute Morgen", "drei Tagen", "letzter Woche", "dem Wochenende", "Montag"]
ACTIONS = [
    "einen Techniker schicken",
    "die Reinigung nachholen",
    "den Schaden begutachten",
    "ein Angebot erstellen",
    "den Bereich absperren",
    "Ersatzteile bestellen",
    "den Winterdienst beauftragen",
    "die Mieter informieren",
]
DEADLINES = ["bis Freitag", "noch heute", "bis Ende der Woche", "vor dem Wochenende", "dringend", "zeitnah"]
PUBLIC_COMMENTS = [
    "Wir haben den Auftrag erhalten und kümmern uns darum.",
    "Ein Techniker ist für {day} eingeplant.",
    "Das Ersatzteil ist bestellt, die Lieferzeit beträgt etwa {n} Tage.",
    "Die Reinigung wurde nachgeholt, bitte prüfen Sie das Ergebnis.",
    "Der Schaden wurde behoben.",
    "Können Sie uns bitte ein Foto vom Schaden schicken?",
    "Der Zugang war verschlossen, neuer Termin am {day}.",
    "Vielen Dank, aus unserer Sicht ist alles erledigt.",
    "Leider ist das Problem wieder aufgetreten.",
    "Bitte auch den Bereich vor dem Hintereingang prüfen.",
]
INTERNAL_COMMENTS = [
    "Kunde hat mehrfach angerufen, bitte priorisieren.",
    "Subunternehmer {company} beauftragt.",
    "Kosten etwa {n}0 Euro, Freigabe durch die Objektleitung nötig.",
    "Achtung: Schlüssel liegt beim Hausmeister.",
    "Nachkontrolle am {day} einplanen.",
    "Rechnung an die Hausverwaltung weiterleiten.",
    "Material aus dem Lager {city} nehmen.",
]
DAYS = ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag"]
SUBCONTRACTORS = ["Kältetechnik Brandt", "Glaserei Vogel", "Elektro Hahn", "Sanitär Krüger", "Dachbau Lenz"]
FIRST_NAMES = [
    "Anna", "Ben", "Clara", "David", "Elif", "Felix", "Greta", "Hannes", "Ida", "Jonas", "Katrin",
    "Lukas", "Mara", "Nils", "Olga", "Paul", "Rita", "Sven", "Tanja", "Uwe", "Vera", "Yusuf",
]  # fmt: skip
LAST_NAMES = [
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
    "Hoffmann", "Koch", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Braun", "Zimmermann",
    "Krüger", "Hartmann", "Lange", "Werner", "Krause", "Lehmann", "Köhler", "Yilmaz", "Nowak",
]  # fmt: skip
CITIES = [
    "Hamburg", "Bremen", "Kiel", "Lübeck", "Hannover", "München", "Augsburg", "Nürnberg", "Regensburg",
    "Köln", "Düsseldorf", "Essen", "Dortmund", "Bonn", "Leipzig", "Dresden", "Erfurt", "Rostock",
    "Kassel", "Frankfurt", "Mainz", "Wiesbaden", "Stuttgart", "Freiburg", "Münster", "Bielefeld",
]  # fmt: skip
STREETS = ["Hauptstraße", "Bahnhofstraße", "Gartenweg", "Industriestraße", "Am Markt", "Lindenallee"]
CUSTOMER_KINDS = [
    "{last} Immobilien GmbH",
    "Wohnungsbau {city} eG",
    "Stadtwerke {city}",
    "Klinikum {city}",
    "{last} & {last2} Hausverwaltung",
    "Logistikzentrum {city} GmbH",
    "Gymnasium {city}-Mitte",
    "{last} Handelsgesellschaft mbH",
]
SITE_KINDS = ["Bürogebäude", "Wohnanlage", "Lagerhalle", "Filiale", "Schule", "Praxis", "Parkhaus"]


def new_uuid(rng: random.Random) -> uuid.UUID:
    # Random version-4 ids like the application's uuid4(), but reproducible from the seed.
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def poisson_cum_weights(mean: float, upto: int) -> list[float]:
    weights = [math.exp(-mean) * mean**k / math.factorial(k) for k in range(upto + 1)]
    return list(itertools.accumulate(weights))


# --- the master data ----------------------------------------------------------------------------------


@dataclass
class Tenant:
    id: uuid.UUID
    code: str
    name: str
    type_ids: list[uuid.UUID] = field(default_factory=list)
    employee_ids: list[uuid.UUID] = field(default_factory=list)
    last_number: int = 0


@dataclass
class Customer:
    id: uuid.UUID
    name: str
    tenant: int
    user_id: uuid.UUID
    site_ids: list[uuid.UUID] = field(default_factory=list)


@dataclass
class Site:
    id: uuid.UUID
    tenant: int
    customer: int


@dataclass
class World:
    """Every master-data row, plus what ticket generation draws from."""

    seed: int
    now: dt.datetime
    tenants: list[Tenant]
    customers: list[Customer]
    sites: list[Site]
    site_cum_weights: list[float]
    accounts: list[tuple[uuid.UUID, str, str, str, str | None]]  # id, kind, email, name, password hash
    employees: list[tuple[uuid.UUID, bool]]  # id, is_admin
    employee_tenants: list[tuple[uuid.UUID, uuid.UUID]]
    customer_user_sites: list[tuple[uuid.UUID, uuid.UUID]]
    customer_ticket_types: list[tuple[uuid.UUID, uuid.UUID]]
    type_cum_weights: list[float]
    portal_user_id: uuid.UUID


def build_world(seed: int, n_tenants: int, n_customers: int, n_sites: int, password_hash: str) -> World:
    rng = random.Random(seed)
    now = dt.datetime.now(UTC).replace(microsecond=0)
    tenants = [Tenant(new_uuid(rng), code, name) for code, name in TENANTS[:n_tenants]]
    accounts: list[tuple[uuid.UUID, str, str, str, str | None]] = []
    employees: list[tuple[uuid.UUID, bool]] = []
    employee_tenants: list[tuple[uuid.UUID, uuid.UUID]] = []
    for tenant in tenants:
        tenant.type_ids = [new_uuid(rng) for _ in TICKET_TYPES]
        for i in range(FIELD_EMPLOYEES_PER_TENANT):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            account_id = new_uuid(rng)
            email = f"{first}.{last}.{i}@{tenant.code}.blink.example".lower()
            accounts.append((account_id, "employee", email, f"{first} {last}", None))
            employees.append((account_id, False))
            employee_tenants.append((account_id, tenant.id))
            tenant.employee_ids.append(account_id)

    # The bench accounts: the employee serves one tenant only, the administrator sees everything.
    employee_tenant = tenants[0]  # NORD
    bench_employee, bench_admin = new_uuid(rng), new_uuid(rng)
    accounts.append((bench_employee, "employee", EMPLOYEE_EMAIL, "Bench Mitarbeiterin", password_hash))
    accounts.append((bench_admin, "employee", ADMIN_EMAIL, "Bench Administrator", password_hash))
    employees += [(bench_employee, False), (bench_admin, True)]
    employee_tenants.append((bench_employee, employee_tenant.id))

    # Site counts per customer are skewed (Pareto), like real portfolios: a few customers with hundreds
    # of sites, many with a handful. The portal customer is a big one of the bench employee's tenant.
    sizes = [min(PORTAL_CUSTOMER_SITES, n_sites)] + [0] * (n_customers - 1)
    weights = [rng.paretovariate(1.3) for _ in range(n_customers - 1)]
    for index in rng.choices(range(1, n_customers), weights=weights, k=n_sites - sizes[0]):
        sizes[index] += 1
    # Each customer is served by one tenant; biggest customers first to the tenant with the fewest
    # sites, so every tenant ends up with about the same share of sites (and of tickets).
    home = [0] * n_customers
    tenant_sites = [0] * n_tenants
    tenant_sites[0] = sizes[0]
    for index in sorted(range(1, n_customers), key=lambda i: -sizes[i]):
        home[index] = min(range(n_tenants), key=tenant_sites.__getitem__)
        tenant_sites[home[index]] += sizes[index]
    customers: list[Customer] = []
    for i in range(n_customers):
        last, last2, city = rng.choice(LAST_NAMES), rng.choice(LAST_NAMES), rng.choice(CITIES)
        name = rng.choice(CUSTOMER_KINDS).format(last=last, last2=last2, city=city)
        customers.append(Customer(new_uuid(rng), f"{name} ({i + 1})", home[i], new_uuid(rng)))
    portal_customer = customers[0]
    sites: list[Site] = []
    site_weights: list[float] = []
    for c_index, customer in enumerate(customers):
        for _ in range(sizes[c_index]):
            site = Site(new_uuid(rng), customer.tenant, c_index)
            customer.site_ids.append(site.id)
            sites.append(site)
            # Some sites report far more than others (a hospital versus a small office).
            site_weights.append(rng.lognormvariate(0, 0.8))

    for customer in customers:
        accounts.append(
            (customer.user_id, "customer_user", f"kontakt{customer.user_id.hex[:12]}@kunde.example",
             f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}", None)
        )  # fmt: skip
    portal_user = new_uuid(rng)
    accounts.append((portal_user, "customer_user", PORTAL_EMAIL, "Bench Kundin", password_hash))

    customer_user_sites = [(c.user_id, s) for c in customers for s in c.site_ids]
    customer_user_sites += [(portal_user, s) for s in portal_customer.site_ids[:PORTAL_USER_SITES]]
    customer_ticket_types = [
        (c.id, type_id)
        for c in customers
        for type_id in tenants[c.tenant].type_ids[:TYPES_ENABLED_PER_CUSTOMER]
    ]
    world = World(
        seed=seed,
        now=now,
        tenants=tenants,
        customers=customers,
        sites=sites,
        site_cum_weights=list(itertools.accumulate(site_weights)),
        accounts=accounts,
        employees=employees,
        employee_tenants=employee_tenants,
        customer_user_sites=customer_user_sites,
        customer_ticket_types=customer_ticket_types,
        type_cum_weights=list(itertools.accumulate(w for _, _, w in TICKET_TYPES)),
        portal_user_id=portal_user,
    )
    return world


# --- tickets and comments -----------------------------------------------------------------------------

TICKET_COLUMNS = [
    "id", "tenant_id", "site_id", "ticket_type_id", "number", "title", "description", "status",
    "assignee_id", "due_date", "created_by_id", "closed_at", "version", "created_at", "updated_at",
]  # fmt: skip
COMMENT_COLUMNS = ["id", "ticket_id", "author_id", "body", "internal", "created_at", "updated_at"]
_COMMENT_COUNTS = list(range(13))
_COMMENT_CUM_WEIGHTS = poisson_cum_weights(MEAN_COMMENTS, 12)


class _Slots(dict):
    """Placeholder values drawn on demand: a template pays only for the placeholders it names."""

    def __init__(self, rng: random.Random) -> None:
        super().__init__()
        self.rng = rng

    def __missing__(self, key: str) -> object:
        rng = self.rng
        draw = {
            "room": lambda: rng.randint(1, 40) * 10 + rng.randint(0, 9),
            "floor": lambda: rng.randint(1, 8),
            "house": lambda: rng.choice("ABCDEF"),
            "day": lambda: rng.choice(DAYS),
            "n": lambda: rng.randint(2, 14),
            "company": lambda: rng.choice(SUBCONTRACTORS),
            "city": lambda: rng.choice(CITIES),
        }[key]
        return draw()


def _fill(template: str, rng: random.Random) -> str:
    return template.format_map(_Slots(rng)) if "{" in template else template


def _description(rng: random.Random, problem: str, place: str) -> str | None:
    if rng.random() < 0.12:
        return None
    parts = [f"{problem} {place}: seit {rng.choice(SINCE)} {rng.choice(OBSERVATIONS)}."]
    if rng.random() < 0.7:
        parts.append(f"Bitte {rng.choice(ACTIONS)}, {rng.choice(DEADLINES)}.")
    if rng.random() < 0.4:
        parts.append(
            f"Ansprechpartner vor Ort: {rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}, "
            f"Tel. 0{rng.randint(30, 999)} {rng.randint(100000, 9999999)}."
        )
    if rng.random() < 0.15:
        parts.append("Der Mangel wurde bereits mehrfach gemeldet.")
    return " ".join(parts)


def ticket_chunk(world: World, index: int, size: int, n_chunks: int) -> tuple[list[tuple], list[tuple]]:
    """Tickets (and their comments) created in the `index`-th of `n_chunks` equal slices of two years.

    Chunks must be generated in order: ticket numbers count up per tenant in creation order.
    """
    rng = random.Random(world.seed * 1_000_003 + index)
    begin = world.now - dt.timedelta(days=HISTORY_DAYS)
    span = dt.timedelta(days=HISTORY_DAYS) / n_chunks
    start = begin + span * index
    span_seconds = span.total_seconds()
    offsets = sorted(rng.random() * span_seconds for _ in range(size))
    site_picks = rng.choices(world.sites, cum_weights=world.site_cum_weights, k=size)
    comment_counts = rng.choices(_COMMENT_COUNTS, cum_weights=_COMMENT_CUM_WEIGHTS, k=size)
    type_picks = rng.choices(range(len(TICKET_TYPES)), cum_weights=world.type_cum_weights, k=size)
    now = world.now
    tickets: list[tuple] = []
    comments: list[tuple] = []
    for offset, site, n_comments, type_index in zip(
        offsets, site_picks, comment_counts, type_picks, strict=True
    ):
        tenant = world.tenants[site.tenant]
        customer = world.customers[site.customer]
        created = start + dt.timedelta(seconds=offset)
        age_days = (now - created).days
        # Old tickets are nearly all closed; the recent ones are still being worked on.
        roll = rng.random()
        if age_days < 14:
            status = "open" if roll < 0.45 else "in_progress" if roll < 0.75 else "closed"
        elif age_days < 90:
            status = "open" if roll < 0.10 else "in_progress" if roll < 0.22 else "closed"
        else:
            status = "open" if roll < 0.02 else "in_progress" if roll < 0.05 else "closed"
        closed_at = None
        if status == "closed":
            closed_at = min(now, created + dt.timedelta(hours=0.2 + rng.expovariate(1 / 96)))
        assigned = rng.random() < (0.4 if status == "open" else 0.9)
        assignee = rng.choice(tenant.employee_ids) if assigned else None
        by_customer = rng.random() < 0.45
        creator = customer.user_id if by_customer else rng.choice(tenant.employee_ids)
        due = (created + dt.timedelta(days=rng.randint(1, 21))).date() if rng.random() < 0.3 else None
        activity_end = closed_at or min(now, created + dt.timedelta(days=20))
        window = (activity_end - created).total_seconds()
        updated = closed_at or created + dt.timedelta(seconds=window * rng.random())

        tenant.last_number += 1
        problem = rng.choice(PROBLEMS)
        place = _fill(rng.choice(PLACES), rng)
        ticket_id = new_uuid(rng)
        tickets.append(
            (
                ticket_id,
                tenant.id,
                site.id,
                tenant.type_ids[type_index],
                f"{tenant.code}-{tenant.last_number:06d}",
                f"{problem} {place}",
                _description(rng, problem, place),
                status,
                assignee,
                due,
                creator,
                closed_at,
                1 + (status != "open") + (assignee is not None) + n_comments // 2,
                created,
                updated,
            )
        )
        for _ in range(n_comments):
            internal = rng.random() < 0.25
            if internal:
                body = _fill(rng.choice(INTERNAL_COMMENTS), rng)
                author = rng.choice(tenant.employee_ids)
            else:
                body = _fill(rng.choice(PUBLIC_COMMENTS), rng)
                author = creator if by_customer and rng.random() < 0.5 else rng.choice(tenant.employee_ids)
            at = created + dt.timedelta(seconds=window * rng.random())
            comments.append((new_uuid(rng), ticket_id, author, body, internal, at, at))
    return tickets, comments


# --- loading ------------------------------------------------------------------------------------------

LOADED_TABLES = ["tickets", "ticket_comments"]


@dataclass
class Detached:
    """The DDL to put back what `detach_constraints` took off the bulk-loaded tables."""

    unique: list[str]
    indexes: list[str]
    foreign_keys: list[str]


async def detach_constraints(conn: asyncpg.Connection) -> Detached:
    """Drop the loaded tables' secondary indexes, unique constraints and foreign keys.

    Maintaining eleven indexes (two of them GIN) and checking five foreign keys per row would make the
    load several times slower than building them once at the end. The primary keys stay.
    """
    constraints = await conn.fetch(
        """
        SELECT conrelid::regclass::text AS tbl, conname, contype::text, pg_get_constraintdef(oid) AS ddl
        FROM pg_constraint
        WHERE conrelid = ANY($1::text[]::regclass[]) AND contype IN ('u', 'f')
        ORDER BY conname
        """,
        LOADED_TABLES,
    )
    indexes = await conn.fetch(
        """
        SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS ddl
        FROM pg_index i
        WHERE i.indrelid = ANY($1::text[]::regclass[])
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        ORDER BY 1
        """,
        LOADED_TABLES,
    )
    detached = Detached([], [], [])
    for row in constraints:
        ddl = f'ALTER TABLE {row["tbl"]} ADD CONSTRAINT "{row["conname"]}" {row["ddl"]}'
        (detached.foreign_keys if row["contype"] == "f" else detached.unique).append(ddl)
        await conn.execute(f'ALTER TABLE {row["tbl"]} DROP CONSTRAINT "{row["conname"]}"')
    for row in indexes:
        detached.indexes.append(row["ddl"])
        await conn.execute(f'DROP INDEX "{row["name"]}"')
    # GIN indexes first: they take longest, so the two builders finish at about the same time.
    detached.indexes.sort(key=lambda ddl: "USING gin" not in ddl)
    return detached


async def copy_master_data(conn: asyncpg.Connection, world: World) -> None:
    await conn.copy_records_to_table(
        "tenants", records=[(t.id, t.name, t.code) for t in world.tenants], columns=["id", "name", "code"]
    )
    await conn.copy_records_to_table(
        "customers", records=[(c.id, c.name) for c in world.customers], columns=["id", "name"]
    )
    await conn.copy_records_to_table(
        "ticket_types",
        records=[
            (type_id, t.id, name, category)
            for t in world.tenants
            for type_id, (name, category, _) in zip(t.type_ids, TICKET_TYPES, strict=True)
        ],
        columns=["id", "tenant_id", "name", "category"],
    )
    rng = random.Random(world.seed + 7)
    site_rows = []
    for site in world.sites:
        city = rng.choice(CITIES)
        site_rows.append(
            (
                site.id,
                world.tenants[site.tenant].id,
                world.customers[site.customer].id,
                f"{rng.choice(SITE_KINDS)} {city} {rng.choice(STREETS)} {rng.randint(1, 180)}",
                f"{rng.choice(STREETS)} {rng.randint(1, 180)}, {rng.randint(10000, 99999)} {city}",
            )
        )
    await conn.copy_records_to_table(
        "sites", records=site_rows, columns=["id", "tenant_id", "customer_id", "name", "address"]
    )
    await conn.copy_records_to_table(
        "accounts", records=world.accounts, columns=["id", "kind", "email", "name", "password_hash"]
    )
    await conn.copy_records_to_table("employees", records=world.employees, columns=["id", "is_admin"])
    customer_users = [(c.user_id, c.id) for c in world.customers]
    customer_users.append((world.portal_user_id, world.customers[0].id))
    await conn.copy_records_to_table("customer_users", records=customer_users, columns=["id", "customer_id"])
    await conn.copy_records_to_table("employee_tenants", records=world.employee_tenants)
    await conn.copy_records_to_table("customer_user_sites", records=world.customer_user_sites)
    await conn.copy_records_to_table("customer_ticket_types", records=world.customer_ticket_types)


async def copy_tickets(
    conns: list[asyncpg.Connection], world: World, total: int, counts: Counter[str]
) -> None:
    """Generate chunk k+1 in a thread while chunk k streams to PostgreSQL (tickets and comments in
    parallel on two connections), so the Python side and the server side overlap."""
    n_chunks = max(1, math.ceil(total / CHUNK))
    sizes = [total // n_chunks + (1 if i < total % n_chunks else 0) for i in range(n_chunks)]

    async def copy(tickets: list[tuple], comments: list[tuple]) -> None:
        await asyncio.gather(
            conns[0].copy_records_to_table("tickets", records=tickets, columns=TICKET_COLUMNS),
            conns[1].copy_records_to_table("ticket_comments", records=comments, columns=COMMENT_COLUMNS),
        )
        counts["tickets"] += len(tickets)
        counts["comments"] += len(comments)

    pending: asyncio.Task[None] | None = None
    for index, size in enumerate(sizes):
        tickets, comments = await asyncio.to_thread(ticket_chunk, world, index, size, n_chunks)
        if pending is not None:
            await pending
        pending = asyncio.create_task(copy(tickets, comments))
        if (index + 1) % 4 == 0:
            print(f"   generated {sum(sizes[: index + 1]):,} tickets", flush=True)
    if pending is not None:
        await pending


# The bulk form of `_REFRESH_SEARCH` in src/blink_api/tickets/repository.py: the same vectors (same
# weights, same German configuration, comments joined with spaces), with the comments aggregated once
# per batch instead of two correlated subqueries per ticket.
SEARCH_UPDATE = """
    UPDATE tickets t SET
      search_public =
        setweight(to_tsvector('german', t.title), 'A')
        || setweight(to_tsvector('german', coalesce(t.description, '')), 'B')
        || setweight(to_tsvector('german', coalesce(c.public_text, '')), 'C'),
      search_internal = to_tsvector('german', coalesce(c.internal_text, ''))
    FROM (
      SELECT b.id,
             string_agg(cm.body, ' ') FILTER (WHERE NOT cm.internal) AS public_text,
             string_agg(cm.body, ' ') FILTER (WHERE cm.internal) AS internal_text
      FROM tickets b LEFT JOIN ticket_comments cm ON cm.ticket_id = b.id
      WHERE b.created_at >= $1 AND b.created_at < $2
      GROUP BY b.id
    ) c
    WHERE t.id = c.id
"""


async def compute_search_vectors(conns: list[asyncpg.Connection], world: World, batches: int) -> None:
    """A few big UPDATEs over slices of creation time, two at a time (German stemming is CPU-bound)."""
    begin = world.now - dt.timedelta(days=HISTORY_DAYS + 1)
    end = world.now + dt.timedelta(days=1)
    step = (end - begin) / batches
    bounds = [(begin + step * i, begin + step * (i + 1)) for i in range(batches)]
    queue: asyncio.Queue[tuple[dt.datetime, dt.datetime]] = asyncio.Queue()
    for bound in bounds:
        queue.put_nowait(bound)

    async def worker(conn: asyncpg.Connection) -> None:
        while not queue.empty():
            low, high = queue.get_nowait()
            status = await conn.execute(SEARCH_UPDATE, low, high)
            print(f"   {status} ({low:%Y-%m-%d} .. {high:%Y-%m-%d})", flush=True)

    await asyncio.gather(*(worker(c) for c in conns))


async def run_ddl(conns: list[asyncpg.Connection], statements: list[str]) -> None:
    """Run independent DDL statements on all connections, each taking the next one when done."""
    queue = list(statements)

    async def worker(conn: asyncpg.Connection) -> None:
        while queue:
            ddl = queue.pop(0)
            await conn.execute(ddl)
            print(f"   {ddl[:110]}", flush=True)

    await asyncio.gather(*(worker(c) for c in conns))


# --- the phases ---------------------------------------------------------------------------------------


async def prepare(url: str, reset: bool) -> None:
    conn = await asyncpg.connect(url)
    try:
        migrated = await conn.fetchval("SELECT to_regclass('tickets') IS NOT NULL")
        filled = migrated and await conn.fetchval("SELECT EXISTS (SELECT 1 FROM tickets)")
        if filled and not reset:
            sys.exit("The database holds tickets already; pass --reset to drop everything and refill.")
        if reset:
            # Only the schema the migrations made: drop it whole and let Alembic build it again. The
            # new `public` schema gets the owner, grant and comment a fresh database has (PostgreSQL 15+).
            await conn.execute(
                """
                DROP SCHEMA public CASCADE;
                CREATE SCHEMA public AUTHORIZATION pg_database_owner;
                GRANT USAGE ON SCHEMA public TO PUBLIC;
                COMMENT ON SCHEMA public IS 'standard public schema';
                """
            )
        if is_embedded():
            # Our own throwaway server: fewer checkpoints during the bulk load. Reads are unaffected.
            await conn.execute("ALTER SYSTEM SET max_wal_size = '8GB'")
            await conn.execute("ALTER SYSTEM SET checkpoint_timeout = '30min'")
            await conn.execute("SELECT pg_reload_conf()")
    finally:
        await conn.close()


def migrate(url: str) -> None:
    """The schema comes from the project's Alembic migrations, exactly as `blink-api migrate` runs them."""
    from alembic import command

    from blink_api.cli import _alembic_config

    command.upgrade(_alembic_config(sqlalchemy_url(url)), "head")


async def bench_password_hash() -> str:
    """Hashed with the application's own Argon2 settings, so logging in costs what it costs in production."""
    from blink_api.kit.config import Settings
    from blink_api.kit.passwords import Passwords

    return await Passwords(Settings(_env_file=None)).hash(PASSWORD)


async def session(url: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(url)
    # A bulk load that fails is simply rerun with --reset: no need to wait for the WAL flush per commit.
    await conn.execute("SET synchronous_commit = off")
    await conn.execute("SET maintenance_work_mem = '512MB'")
    await conn.execute("SET work_mem = '256MB'")
    # Two builders already keep both cores busy; parallel workers on top would only contend.
    await conn.execute("SET max_parallel_maintenance_workers = 0")
    return conn


async def fill(url: str, args: argparse.Namespace, phases: Phases) -> None:
    with phases.phase("master data (generate)"):
        world = build_world(args.seed, args.tenants, args.customers, args.sites, await bench_password_hash())
    conns = [await session(url), await session(url)]
    try:
        with phases.phase("drop secondary indexes and foreign keys"):
            detached = await detach_constraints(conns[0])
        with phases.phase("master data (copy)"):
            await copy_master_data(conns[0], world)
        counts: Counter[str] = Counter()
        with phases.phase("tickets and comments (generate + COPY)"):
            await copy_tickets(conns, world, args.tickets, counts)
            for tenant in world.tenants:
                await conns[0].execute(
                    "UPDATE tenants SET last_ticket_number = $2 WHERE id = $1", tenant.id, tenant.last_number
                )
        with phases.phase("search vectors (bulk UPDATE)"):
            await compute_search_vectors(conns, world, args.search_batches)
        with phases.phase("compact tickets after the UPDATE (VACUUM FULL)"):
            # Every ticket was rewritten once: without this the table would be half dead tuples.
            await conns[0].execute("VACUUM FULL tickets")
        with phases.phase("rebuild unique constraints and indexes"):
            await run_ddl(conns[:1], detached.unique)
            await run_ddl(conns, detached.indexes)
        with phases.phase("re-add foreign keys (validated)"):
            # Sequential: adding a foreign key locks both tables against another one being added.
            await run_ddl(conns[:1], detached.foreign_keys)
        with phases.phase("VACUUM ANALYZE"):
            # Sets the visibility map (index-only scans) and gives the planner fresh statistics.
            await run_ddl(conns, ["VACUUM ANALYZE tickets", "VACUUM ANALYZE ticket_comments"])
            await conns[0].execute("VACUUM ANALYZE")
        await summarize(conns[0], counts)
    finally:
        for conn in conns:
            await conn.close()


async def summarize(conn: asyncpg.Connection, counts: Counter[str]) -> None:
    print(f"\nLoaded {counts['tickets']:,} tickets and {counts['comments']:,} comments.")
    rows = await conn.fetch(
        """
        SELECT t.code, t.last_ticket_number,
               (SELECT count(*) FROM sites s WHERE s.tenant_id = t.id) AS sites
        FROM tenants t ORDER BY t.code
        """
    )
    for row in rows:
        print(f"  tenant {row['code']:<6} {row['last_ticket_number']:>9,} tickets  {row['sites']:>6,} sites")
    sizes = await conn.fetch(
        """
        SELECT relname, pg_size_pretty(pg_table_size(oid)) AS heap,
               pg_size_pretty(pg_indexes_size(oid)) AS indexes
        FROM pg_class WHERE relname = ANY($1::text[]) ORDER BY relname
        """,
        LOADED_TABLES,
    )
    for row in sizes:
        print(f"  {row['relname']:<16} table {row['heap']:>8}, indexes {row['indexes']:>8}")
    total = await conn.fetchval("SELECT pg_size_pretty(pg_database_size(current_database()))")
    print(f"  database size: {total}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--sites", type=int, default=10_000)
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--tenants", type=int, default=5, choices=range(1, len(TENANTS) + 1))
    parser.add_argument("--search-batches", type=int, default=8, help="UPDATEs computing search vectors")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--reset", action="store_true", help="drop the public schema first and refill")
    args = parser.parse_args()
    if args.sites < PORTAL_CUSTOMER_SITES:
        parser.error(f"--sites must be at least {PORTAL_CUSTOMER_SITES}")

    phases = Phases()
    with phases.phase("start database"):
        url = database_url()
    with phases.phase("reset / check empty"):
        asyncio.run(prepare(url, args.reset))
    with phases.phase("migrate (Alembic)"):
        migrate(url)
    asyncio.run(fill(url, args, phases))
    phases.report()


if __name__ == "__main__":
    main()
