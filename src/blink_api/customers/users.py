"""Customer users: portal logins of a customer, and the sites each of them sees."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from blink_api.customers import repository as repo
from blink_api.customers.audit import record_change
from blink_api.customers.models import Site
from blink_api.customers.schemas import (
    CustomerUserCreate,
    CustomerUserRead,
    CustomerUserUpdate,
    SiteAssignment,
)
from blink_api.customers.service import get_customer
from blink_api.identity import repository as identity_repo
from blink_api.identity import service as identity
from blink_api.identity.models import CustomerUser
from blink_api.identity.principals import EmployeePrincipal
from blink_api.kit.context import AppContext
from blink_api.kit.errors import Conflict, Invalid
from blink_api.kit.pagination import Page, PageParams, paginate
from blink_api.kit.rows import apply_changes, delete_or_409, flush_unique, one_or_404
from blink_api.notifications.service import enqueue_invitation

_EMAIL_TAKEN = "An account with this e-mail address exists already."


def _snapshot(user: CustomerUser) -> dict[str, Any]:
    return CustomerUserRead.model_validate(user).model_dump(mode="json", exclude={"created_at", "updated_at"})


async def list_users(
    session: AsyncSession, customer_id: uuid.UUID, page: PageParams
) -> Page[CustomerUserRead]:
    await get_customer(session, customer_id)
    rows, cursor = await paginate(
        session,
        repo.customer_users(customer_id),
        page,
        created_at=CustomerUser.created_at,
        id_=CustomerUser.id,
    )
    return Page[CustomerUserRead](
        items=[CustomerUserRead.model_validate(u) for u in rows], next_cursor=cursor
    )


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> CustomerUser:
    return await one_or_404(session, repo.customer_users().where(CustomerUser.id == user_id), "Customer user")


async def create_user(
    ctx: AppContext,
    session: AsyncSession,
    admin: EmployeePrincipal,
    customer_id: uuid.UUID,
    body: CustomerUserCreate,
) -> CustomerUser:
    await get_customer(session, customer_id)
    email = identity.normalize_email(body.email)
    if await identity_repo.email_taken(session, email):
        raise Conflict(_EMAIL_TAKEN)
    user = CustomerUser(
        email=email,
        name=body.name,
        customer_id=customer_id,
        locale=body.locale,
        sites=[],
        password_hash=(
            await identity.hash_new_password(ctx, body.password, email=email, name=body.name)
            if body.password is not None
            else None
        ),
    )
    session.add(user)
    await flush_unique(session, _EMAIL_TAKEN)
    if body.password is None:
        token = await identity.create_password_link(ctx, session, user.id, "invitation")
        await enqueue_invitation(
            session,
            recipient=email,
            name=user.name,
            locale=user.locale,
            portal=True,
            link=f"{ctx.settings.portal_base_url.rstrip('/')}/set-password?token={token}",
        )
    record_change(
        session,
        admin,
        customer_id=customer_id,
        entity="customer_user",
        entity_id=user.id,
        action="create",
        before=None,
        after=_snapshot(user),
    )
    await session.flush()
    return user


async def update_user(
    ctx: AppContext,
    session: AsyncSession,
    admin: EmployeePrincipal,
    user_id: uuid.UUID,
    body: CustomerUserUpdate,
) -> CustomerUser:
    user = await get_user(session, user_id)
    before = _snapshot(user)
    if body.email is not None:
        body = body.model_copy(update={"email": identity.normalize_email(body.email)})
        if await identity_repo.email_taken(session, body.email, except_id=user.id):
            raise Conflict(_EMAIL_TAKEN)
    changes = apply_changes(user, body, skip={"password"})
    if body.password is not None:
        await identity.set_password_hash(ctx, user, body.password)
    elif "is_active" in changes and not user.is_active:
        user.token_version += 1
    if "is_active" in changes and not user.is_active:
        # Deactivation ends API tokens for good: a reactivated account makes new ones.
        await identity_repo.delete_api_tokens_of(session, user.id)
    await flush_unique(session, _EMAIL_TAKEN)
    # A new password is a change even where the snapshot, which holds no password, stays the same.
    record_change(
        session,
        admin,
        customer_id=user.customer_id,
        entity="customer_user",
        entity_id=user.id,
        action="update",
        before=before,
        after={**_snapshot(user), **({"password": "changed"} if body.password is not None else {})},
    )
    await session.flush()
    return user


async def delete_user(session: AsyncSession, admin: EmployeePrincipal, user_id: uuid.UUID) -> None:
    user = await get_user(session, user_id)
    before = _snapshot(user)
    customer_id = user.customer_id
    await delete_or_409(session, user, "The customer user (they have tickets or comments; deactivate them)")
    record_change(
        session,
        admin,
        customer_id=customer_id,
        entity="customer_user",
        entity_id=user_id,
        action="delete",
        before=before,
        after=None,
    )
    await session.flush()


async def assign_sites(
    session: AsyncSession, admin: EmployeePrincipal, user_id: uuid.UUID, body: SiteAssignment
) -> CustomerUser:
    user = await get_user(session, user_id)
    wanted = list(dict.fromkeys(body.site_ids))
    sites = {s.id: s for s in await session.scalars(select(Site).where(Site.id.in_(wanted)))}
    for index, site_id in enumerate(wanted):
        site = sites.get(site_id)
        if site is None or site.customer_id != user.customer_id:
            raise Invalid.at(
                ["body", "site_ids", index], "Only sites of the user's own customer can be assigned."
            )
    before = user.site_ids
    user.sites = [sites[s] for s in wanted]
    await session.flush()
    # Both lists are sorted (`site_ids`): the same sites assigned again compare equal.
    record_change(
        session,
        admin,
        customer_id=user.customer_id,
        entity="customer_user_sites",
        entity_id=user.id,
        action="update",
        before=[str(s) for s in before],
        after=[str(s) for s in user.site_ids],
    )
    await session.flush()
    return user
