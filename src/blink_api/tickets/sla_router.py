"""HTTP endpoints of service-level policies (administrators)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from blink_api.identity.dependencies import AdminEmployee
from blink_api.kit.created import created_responses, location
from blink_api.kit.db import DbSession
from blink_api.kit.errors import problem_responses
from blink_api.kit.pagination import Page, Pagination
from blink_api.tickets import sla_policies as service
from blink_api.tickets.sla_schemas import SlaPolicyCreate, SlaPolicyRead, SlaPolicyUpdate

router = APIRouter(prefix="/sla-policies", tags=["sla-policies"])

PolicyId = Annotated[uuid.UUID, Path(description="The service-level policy's id.")]


@router.get("", name="sla-policies:list", responses=problem_responses(401, 403, 422))
async def list_policies(
    session: DbSession,
    admin: AdminEmployee,
    page: Pagination,
    tenant_id: Annotated[uuid.UUID | None, Query(description="Only the policies of this tenant.")] = None,
) -> Page[SlaPolicyRead]:
    """Administrators only, newest first (ties between equally specific policies go to the oldest)."""
    return await service.list_policies(session, page, tenant_id)


@router.post(
    "",
    name="sla-policies:create",
    status_code=status.HTTP_201_CREATED,
    responses={
        **created_responses("The new policy (`GET /sla-policies/{policy_id}`)."),
        **problem_responses(401, 403, 409, 422),
    },
)
async def create_policy(
    session: DbSession, admin: AdminEmployee, body: SlaPolicyCreate, request: Request, response: Response
) -> SlaPolicyRead:
    """Administrators only. 409 when the tenant has a policy of that name already; 422 for a tenant or
    customer that does not exist, or a type of another tenant. Open tickets of the tenant that the new
    policy matches best get it in the background. A ticket gets the most specific policy of its tenant
    whose set criteria (customer, type, priority) all match it: more criteria set win, between equals the
    oldest."""
    created = SlaPolicyRead.model_validate(await service.create_policy(session, body))
    response.headers["Location"] = location(request, "sla-policies:read", policy_id=created.id)
    return created


@router.get("/{policy_id}", name="sla-policies:read", responses=problem_responses(401, 403, 404, 422))
async def read_policy(session: DbSession, admin: AdminEmployee, policy_id: PolicyId) -> SlaPolicyRead:
    """Administrators only."""
    return SlaPolicyRead.model_validate(await service.get_policy(session, policy_id))


@router.patch(
    "/{policy_id}", name="sla-policies:update", responses=problem_responses(401, 403, 404, 409, 422)
)
async def update_policy(
    session: DbSession, admin: AdminEmployee, policy_id: PolicyId, body: SlaPolicyUpdate
) -> SlaPolicyRead:
    """Administrators only. Open tickets of the tenant get their policy and due times again in the
    background (met targets stay), and their history says so."""
    return SlaPolicyRead.model_validate(await service.update_policy(session, policy_id, body))


@router.delete(
    "/{policy_id}",
    name="sla-policies:delete",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 422),
)
async def delete_policy(session: DbSession, admin: AdminEmployee, policy_id: PolicyId) -> None:
    """Administrators only. Open tickets that had the policy get the next best one (or none) in the
    background; closed ones keep their targets, with `policy_id` null."""
    await service.delete_policy(session, policy_id)
