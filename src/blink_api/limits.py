"""Caps on request bodies, enforced before the body is read where the client announces its size."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from blink_api.errors import problem_response

MULTIPART_OVERHEAD = 1_048_576


class BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    """JSON and form bodies are capped at `max_body`; multipart uploads at `max_upload` (plus framing)."""

    def __init__(self, app: ASGIApp, *, max_body: int, max_upload: int) -> None:
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
        limit = (
            self.max_upload + MULTIPART_OVERHEAD
            if content_type.startswith("multipart/form-data")
            else self.max_body
        )
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send, limit)
            return

        received = 0
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not response_started:
                await self._refuse(scope, receive, send, limit)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = problem_response(
            413,
            title="Payload too large",
            detail=f"The request body is larger than the {limit} bytes this endpoint accepts.",
            type_="/problems/payload-too-large",
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)
