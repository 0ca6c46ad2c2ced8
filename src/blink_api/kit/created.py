"""The `Location` a 201 answer carries: where the resource the request created is read."""

from __future__ import annotations

from typing import Any

from fastapi import Request


def location(request: Request, route: str, **path_params: object) -> str:
    """The path of the operation named `route` with `path_params` filled in, for `Location`.

    A path, not an absolute URL (RFC 9110 allows a reference, resolved against the request's URL): it
    repeats nothing the client sent in `Host`, and stays right behind a proxy that rewrites the host.
    """
    return request.url_for(route, **path_params).path


def created_responses(where: str, **headers: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` entry of a 201 carrying `Location` (described by `where`) and `headers`."""
    described = {
        "Location": {
            "description": where,
            "required": True,
            "schema": {"type": "string", "format": "uri-reference"},
        },
        **headers,
    }
    return {201: {"headers": described}}
