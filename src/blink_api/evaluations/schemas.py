"""Evaluation bodies."""

from pydantic import ConfigDict, Field

from blink_api.kit.schema import ResponseModel


class Bucket(ResponseModel):
    """Closed tickets whose resolution took from `from_days` to `to_days` whole days."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"from_days": 0, "to_days": 6, "count": 14}]})

    from_days: int = Field(description="Fewest whole days of resolution counted here.")
    to_days: int = Field(description="Most whole days of resolution counted here (included).")
    count: int = Field(description="Closed tickets in this bucket.")


class Satisfaction(ResponseModel):
    """How satisfied the customer's users are with the tickets counted: the ratings of those among
    them that were rated (`POST /tickets/{ticket_id}/rating`)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"count": 9, "average": 4.22}]})

    count: int = Field(description="Rated tickets among the closed tickets counted (`total`).")
    average: float | None = Field(
        description="Their mean score (1 to 5), rounded to 2 decimals (halves away from zero); null "
        "when `count` is 0."
    )


class TicketEvaluation(ResponseModel):
    """How long the customer's closed tickets took to resolve: resolution days
    `floor((closed_at - created_at) / 1 day)`, counted in buckets of `group_days` days."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "group_days": 7,
                    "total": 23,
                    "within_sla": 19,
                    "median_days": 4.0,
                    "buckets": [
                        {"from_days": 0, "to_days": 6, "count": 14},
                        {"from_days": 7, "to_days": 13, "count": 0},
                        {"from_days": 14, "to_days": 20, "count": 9},
                    ],
                    "satisfaction": {"count": 9, "average": 4.22},
                }
            ]
        }
    )

    group_days: int = Field(
        description="Width of each bucket in days, as the customer's evaluation settings set it."
    )
    total: int = Field(description="Closed tickets counted, over all buckets.")
    within_sla: int = Field(
        description="Those of `total` whose resolution target was met (closed by its due time, "
        "`sla.resolution`); tickets without a resolution target are not among them."
    )
    median_days: float | None = Field(
        description="Median resolution time in whole days; null without tickets."
    )
    buckets: list[Bucket] = Field(
        description="From the first filled bucket to the last, empty ones between included."
    )
    satisfaction: Satisfaction = Field(
        description="The ratings of the rated tickets among those counted: the same tickets, sites and "
        "closing days. A rated ticket that was reopened counts again once it is closed. JSON only: the "
        "CSV answer keeps one row per bucket."
    )
