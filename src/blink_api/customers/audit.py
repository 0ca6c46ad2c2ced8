"""The configuration audit trail: who changed which customer-portal setting, from what to what."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.customers.models import ConfigChange
from blink_api.identity.principals import EmployeePrincipal


def record_change(
    session: AsyncSession,
    actor: EmployeePrincipal,
    *,
    customer_id: uuid.UUID | None,
    entity: str,
    entity_id: uuid.UUID | None,
    action: str,
    before: Any,
    after: Any,
) -> None:
    """Add one line to the trail (written with the session's next flush). A change that leaves
    everything as it was (`before == after`, such as a save of unchanged settings) is no change and
    is not recorded."""
    if before == after:
        return
    session.add(
        ConfigChange(
            customer_id=customer_id,
            actor_id=actor.id,
            entity=entity,
            entity_id=entity_id,
            action=action,
            before=before,
            after=after,
        )
    )
