"""Bodies of following: the caller's subscription to a ticket and the ticket's followers."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import ConfigDict, Field

from blink_api.kit.schema import Id, RequestModel, ResponseModel

MAX_FOLLOWERS = 100
"""The most accounts one `PUT /tickets/{ticket_id}/followers` names."""

_EMPLOYEE_ID = "e2c71b94-6f3d-4a58-9b20-c4d8a1e57f63"
_CUSTOMER_USER_ID = "91f4d2a8-3e6b-4c17-a5d9-7b0e2c8f4a16"

_SUBSCRIBED = "Whether you follow the ticket: you are then mailed about it (see `/me/notification-settings`)."
_REASON = (
    "Why you follow it: `creator`: you reported it; `assignee`: it is assigned to you; `follower`: you "
    "chose to follow it (or an employee added you). Null when you do not follow it."
)


class SubscriptionUpdate(RequestModel):
    """Follow the ticket, or stop following it (also as its creator or assignee, who follow it by default)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"subscribed": True}, {"subscribed": False}]})

    subscribed: bool = Field(description="`true`: follow the ticket; `false`: stop following it.")


class Subscription(ResponseModel):
    """Whether you follow a ticket, and why."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"subscribed": True, "reason": "creator"},
                {"subscribed": False, "reason": None},
            ]
        }
    )

    subscribed: bool = Field(description=_SUBSCRIBED)
    reason: Literal["creator", "assignee", "follower"] | None = Field(description=_REASON)


class FollowersUpdate(RequestModel):
    """Everyone who is to follow the ticket, replacing the followers: creator and assignee included
    when they are to keep following it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"account_ids": [_CUSTOMER_USER_ID, _EMPLOYEE_ID]}, {"account_ids": []}]
        }
    )

    account_ids: list[Id] = Field(
        max_length=MAX_FOLLOWERS,
        description=f"Ids of employees and customer users (at most {MAX_FOLLOWERS}); each must see the "
        "ticket. Repeated ids count once.",
    )


class Follower(ResponseModel):
    """Someone who follows a ticket and is mailed about it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"id": _CUSTOMER_USER_ID, "kind": "customer_user", "name": "Malte Hansen"}]
        }
    )

    id: uuid.UUID = Field(description="The employee's or customer user's id.")
    kind: Literal["employee", "customer_user"] = Field(
        description="`employee`: a person of the service company; `customer_user`: a user of the "
        "customer's portal."
    )
    name: str = Field(description="The person's name as shown in the portal.")


class Followers(ResponseModel):
    """Everyone who follows the ticket and sees it now: its creator and assignee unless they stopped,
    then the others in the order they started."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {"id": _CUSTOMER_USER_ID, "kind": "customer_user", "name": "Malte Hansen"},
                        {"id": _EMPLOYEE_ID, "kind": "employee", "name": "Jonas Becker"},
                    ]
                }
            ]
        }
    )

    items: list[Follower] = Field(description="The followers; never more than a ticket can have.")
