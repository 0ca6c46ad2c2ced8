"""The service-level clocks on their own: due times in business time, pauses, re-opening, states."""

from __future__ import annotations

import datetime as dt
import uuid
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from blink_api.kit.business_time import Calendar
from blink_api.tickets import sla
from blink_api.tickets.models import Ticket
from blink_api.tickets.sla_models import SlaPolicy

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = Calendar("Europe/Berlin", {d: [("08:00", "17:00")] for d in ("mon", "tue", "wed", "thu", "fri")})


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A local time in Berlin in the first week of December 2026 (Tuesday 1st to Monday 7th)."""
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=BERLIN)


def policy(first: int | None = None, resolution: int | None = None) -> SlaPolicy:
    return SlaPolicy(id=uuid.uuid4(), first_response_minutes=first, resolution_minutes=resolution)


def ticket(created: dt.datetime, p: SlaPolicy, status: str = "open") -> Ticket:
    t = Ticket(status=status, created_at=created)
    sla.start(t, p, OFFICE, created)
    return t


def test_due_times_count_business_minutes_only():
    # Friday 4 December, 15:00: two hours left that day, the rest on Monday.
    t = ticket(at(4, 15), policy(first=60, resolution=240))
    assert t.sla_first_response_due_at == at(4, 16)
    assert t.sla_resolution_due_at == at(7, 10)


def test_a_pause_over_the_weekend_moves_the_due_time_by_the_paused_business_time_only():
    p = policy(resolution=240)
    t = ticket(at(4, 15), p)
    sla.status_changed(t, 240, "open", "waiting", OFFICE, at(4, 16))
    assert t.sla_resolution_paused_at == at(4, 16)
    # Paused Friday 16:00 to Monday 09:00: one business hour on Friday, one on Monday; the weekend is none.
    sla.status_changed(t, 240, "waiting", "in_progress", OFFICE, at(7, 9))
    assert t.sla_resolution_paused_at is None
    assert t.sla_resolution_due_at == at(7, 12)


def test_while_paused_the_target_is_paused_not_breached_even_past_its_old_due_time():
    t = ticket(at(4, 15), policy(resolution=240))
    sla.status_changed(t, 240, "open", "waiting", OFFICE, at(4, 16))
    value = sla.sla_value(t, now=at(8, 9))
    assert value["resolution"]["state"] == "paused"
    # The first response has no target: only the resolution is shown.
    assert value["first_response"] is None


def test_leaving_waiting_runs_the_clock_again_even_when_the_calendar_never_reaches_the_due_time():
    saturday_mornings = Calendar("Europe/Berlin", {"sat": [("08:00", "12:00")]})
    p = policy(resolution=525_600)  # a year of business minutes: more than ten years of Saturdays
    t = Ticket(status="open", created_at=at(4, 15))
    sla.start(t, p, saturday_mornings, at(4, 15))
    assert t.sla_resolution_due_at == sla.NEVER
    sla.status_changed(t, 525_600, "open", "waiting", saturday_mornings, at(4, 16))
    assert sla.sla_value(t, now=at(4, 17))["resolution"]["state"] == "paused"
    sla.status_changed(t, 525_600, "waiting", "in_progress", saturday_mornings, at(7, 9))
    assert t.sla_resolution_paused_at is None
    assert sla.sla_value(t, now=at(7, 10))["resolution"]["state"] == "running"
    # Saturday 5 December, 08:00 to 12:00, stood still: four business hours of credit.
    assert t.sla_resolution_credit_seconds == 4 * 3600
    # With a calendar that reaches it, the due time is the policy's minutes plus the pause.
    around_the_clock = Calendar(
        "UTC", {d: [("00:00", "24:00")] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    )
    assert sla.recompute(t, p, around_the_clock)
    assert t.sla_resolution_due_at < sla.NEVER and t.sla_resolution_paused_at is None


def test_a_pause_begun_after_the_due_time_hides_no_breach():
    t = ticket(at(1, 8), policy(resolution=60))
    sla.status_changed(t, 60, "open", "waiting", OFFICE, at(1, 11))
    assert sla.sla_value(t, now=at(1, 12))["resolution"]["state"] == "breached"


def test_closing_meets_resolution_and_reopening_restarts_from_the_time_left():
    p = policy(first=60, resolution=240)
    t = ticket(at(1, 8), p)  # resolution due Tuesday 12:00
    sla.status_changed(t, 240, "open", "closed", OFFICE, at(1, 11))
    assert t.sla_resolution_met_at == at(1, 11)
    assert sla.sla_value(t, now=at(3, 8))["resolution"]["state"] == "met"
    # Re-opened on Thursday 16:00 with one business hour left: due Friday 08:00.
    sla.status_changed(t, 240, "closed", "open", OFFICE, at(3, 16))
    assert t.sla_resolution_met_at is None
    assert t.sla_resolution_due_at == at(3, 17)
    # A policy change later counts from the re-opening with the same hour left (4 h - 3 h used).
    assert sla.recompute(t, p, OFFICE) is False
    assert t.sla_resolution_due_at == at(3, 17)
    p.resolution_minutes = 300
    assert sla.recompute(t, p, OFFICE) is True
    assert t.sla_resolution_due_at == at(4, 9)


def test_a_ticket_closed_late_reopens_breached():
    t = ticket(at(1, 8), policy(resolution=60))
    sla.status_changed(t, 60, "open", "closed", OFFICE, at(1, 10))
    assert sla.sla_value(t, now=at(1, 10))["resolution"]["state"] == "breached"
    sla.status_changed(t, 60, "closed", "open", OFFICE, at(2, 9))
    assert t.sla_resolution_due_at == at(2, 9)
    assert sla.sla_value(t, now=at(2, 9, 1))["resolution"]["state"] == "breached"


def test_target_states():
    due = at(2, 12)
    assert sla.target_state(due, None, None, at(2, 11)) == "running"
    assert sla.target_state(due, None, None, at(2, 12)) == "breached"
    assert sla.target_state(due, at(2, 12), None, at(3, 8)) == "met"
    assert sla.target_state(due, at(2, 12, 1), None, at(3, 8)) == "breached"
    assert sla.target_state(due, None, at(2, 11), at(3, 8)) == "paused"


def test_the_most_specific_policy_wins_and_the_oldest_breaks_ties():
    from blink_api.tickets.sla_worker import best_policy

    customer, kind = uuid.uuid4(), uuid.uuid4()
    t = SimpleNamespace(ticket_type_id=kind, priority="high")
    anyone = SlaPolicy(id=uuid.uuid4())
    by_customer = SlaPolicy(id=uuid.uuid4(), customer_id=customer)
    by_type = SlaPolicy(id=uuid.uuid4(), ticket_type_id=kind)
    by_both = SlaPolicy(id=uuid.uuid4(), customer_id=customer, priority="high")
    other_priority = SlaPolicy(id=uuid.uuid4(), customer_id=customer, ticket_type_id=kind, priority="low")
    assert best_policy([anyone], customer, t) is anyone
    assert best_policy([anyone, by_customer, by_type], customer, t) is by_customer  # oldest of equals
    assert best_policy([by_type, by_customer], customer, t) is by_type
    assert best_policy([anyone, by_customer, by_both, other_priority], customer, t) is by_both
    assert best_policy([other_priority], customer, t) is None
