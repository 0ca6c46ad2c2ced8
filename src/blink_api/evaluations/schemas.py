"""Evaluation bodies."""

from pydantic import Field

from blink_api.kit.schema import ResponseModel


class Bucket(ResponseModel):
    from_days: int
    to_days: int
    count: int


class TicketEvaluation(ResponseModel):
    group_days: int
    total: int
    median_days: float | None = Field(
        description="Median resolution time in whole days; null without tickets."
    )
    buckets: list[Bucket] = Field(
        description="From the first filled bucket to the last, empty ones between included."
    )
