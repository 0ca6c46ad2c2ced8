"""The schedule worker: raises each occurrence's tickets `lead_days` before its date, exactly once.

Each round looks at every active schedule in a transaction of its own, holding the schedule's row
(another worker skips it meanwhile). For every date of the rule from the later of `starts_on` and
`catch_up_from` (the day the schedule was created or last switched on) up to `lead_days` after today
(in the schedule's time zone), and not past `ends_on`, it claims the occurrence on each site in
`schedule_occurrences` and raises the ticket in the same transaction: the primary key, not a read
before the write, makes the ticket happen once, whatever runs at the same time or restarts. Dates
missed while no worker ran are caught up by the next round; dates before `catch_up_from` never are.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.identity.models import Account
from blink_api.identity.principals import EmployeePrincipal
from blink_api.kit.config import Settings
from blink_api.kit.db import Database, database_unavailable
from blink_api.kit.periodic import PeriodicWorker
from blink_api.schedules import recurrence
from blink_api.schedules import repository as repo
from blink_api.schedules.models import Schedule
from blink_api.tickets import repository as tickets_repo
from blink_api.tickets import service as tickets
from blink_api.tickets.schemas import TicketCreate

log = logging.getLogger(__name__)


def _actor(account: Account, schedule: Schedule) -> EmployeePrincipal:
    """Tickets are raised in the name of the schedule's creator, within the schedule's tenant only."""
    return EmployeePrincipal(
        id=account.id,
        email=account.email,
        name=account.name,
        is_admin=False,
        tenant_ids=frozenset({schedule.tenant_id}),
        permissions=frozenset(),
    )


async def raise_due(
    session: AsyncSession, settings: Settings, schedule_id: uuid.UUID, now: dt.datetime | None = None
) -> int:
    """Raises the due tickets of one schedule in the caller's transaction; how many it raised."""
    schedule = await repo.lock_active(session, schedule_id)
    if schedule is None:
        return 0
    today = recurrence.today_in(schedule.timezone, now)
    last = today + dt.timedelta(days=schedule.lead_days)
    if schedule.ends_on is not None:
        last = min(last, schedule.ends_on)
    first = max(schedule.starts_on, schedule.catch_up_from)
    days = recurrence.dates(recurrence.parse(schedule.rrule, schedule.starts_on), first, last)
    if not days:
        return 0
    sites = (await repo.site_ids(session, [schedule.id]))[schedule.id]
    # Only to skip what is known to be done: the claim below decides.
    done = await repo.raised(session, [schedule.id], days[0], days[-1])
    account = await session.get(Account, schedule.created_by_id)
    assert account is not None
    actor = _actor(account, schedule)
    assignee = schedule.assignee_id
    if assignee is not None and not await tickets_repo.employee_serves_tenant(
        session, assignee, schedule.tenant_id
    ):
        assignee = None  # left the tenant since: the ticket waits for someone to take it
    count = 0
    for day in days:
        for site_id in sites:
            if (schedule.id, site_id, day) in done:
                continue
            if not await repo.claim_occurrence(session, schedule.id, site_id, day):
                continue
            ticket = await tickets.create_ticket(
                session,
                actor,
                TicketCreate(
                    site_id=site_id,
                    ticket_type_id=schedule.ticket_type_id,
                    title=schedule.title,
                    description=schedule.description,
                    due_date=day,
                    assignee_id=assignee,
                    priority=schedule.priority,  # type: ignore[arg-type]
                ),
                settings=settings,
                schedule_id=schedule.id,
            )
            await repo.record_ticket(session, schedule.id, site_id, day, ticket.id)
            tickets_repo.add_event(
                session,
                ticket.id,
                None,
                "scheduled",
                field="schedule",
                new={"id": str(schedule.id), "name": schedule.name, "date": day.isoformat()},
                public=False,
            )
            count += 1
    await session.flush()
    return count


async def run_once(database: Database, settings: Settings, now: dt.datetime | None = None) -> int:
    """One round over every active schedule, each in a transaction of its own; how many tickets it
    raised. A schedule that fails is logged and tried again next round; the others go on."""
    async with database.sessionmaker() as session:
        schedule_ids = await repo.active_schedule_ids(session)
    count = 0
    for schedule_id in schedule_ids:
        try:
            async with database.sessionmaker.begin() as session:
                count += await raise_due(session, settings, schedule_id, now)
        except Exception as exc:
            if database_unavailable(exc):
                raise
            log.exception("schedule %s: raising its tickets failed", schedule_id)
    return count


class ScheduleWorker(PeriodicWorker):
    name = "schedule worker"
    poll_seconds = 60.0

    async def run_round(self) -> None:
        raised = await run_once(self.database, self.settings)
        if raised:
            log.info("schedule worker raised %d tickets", raised)
