"""CSV answers: when a client asked for one, cells a spreadsheet cannot run, and the bytes sent.

What goes into a CSV answer is decided by the domain that owns the rows (the ticket list, the
evaluation); how any CSV is negotiated and written is decided here, once.

- **Negotiation** (`wants_csv`): CSV only when the client names `text/csv` in `Accept` (`text/*`
  and `*/*` do not ask for it), with a weight at least that of JSON (`application/json`, else
  `application/*`, else `*/*`). Every other `Accept` (absent, `*/*`, `text/html`,
  `application/xml`, nonsense) keeps answering JSON, never 406: clients and browsers send all
  kinds of defaults, and JSON is what they got before CSV existed. A CSV answer says `Vary: Accept`.
- **Formula injection**: a text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return
  is prefixed with `'`, so that spreadsheet programs show it as text instead of evaluating it
  (`=HYPERLINK(...)` in a ticket title would otherwise become a live link or worse).
- **Encoding**: UTF-8 with a byte order mark, without which Excel reads umlauts as Latin-1; rows end
  in CRLF (RFC 4180).
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncGenerator, Iterable, Sequence
from contextlib import aclosing
from typing import Any

import anyio
from fastapi.responses import StreamingResponse
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

MEDIA_TYPE = "text/csv"
BOM = "\ufeff"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | float | None


def csv_content() -> dict[str, Any]:
    """OpenAPI `content` of a 200 answering JSON (the operation's model) or, when asked, CSV."""
    return {"application/json": {}, MEDIA_TYPE: {"schema": {"type": "string"}}}


def media_weights(accept: str) -> dict[str, float]:
    """The weight (`q`) of each media range named in `accept`, lower-cased; a malformed `q` counts 0."""
    weights: dict[str, float] = {}
    for part in accept.split(","):
        media, *parameters = (piece.strip() for piece in part.split(";"))
        weight = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
                if not 0.0 <= weight <= 1.0:  # nan fails this too
                    weight = 0.0
        media = media.lower()
        if media:
            weights[media] = max(weight, weights.get(media, 0.0))
    return weights


def wants_csv(accept: str | None) -> bool:
    """Whether a request with this `Accept` header asked for CSV (see the module's docstring)."""
    if not accept or "csv" not in accept.lower():
        return False  # the JSON answer's check costs one substring search
    weights = media_weights(accept)
    csv_weight = weights.get(MEDIA_TYPE, 0.0)
    # JSON's weight is that of the most specific range matching it (RFC 9110 §12.5.1).
    json_weight = weights.get("application/json", weights.get("application/*", weights.get("*/*", 0.0)))
    return csv_weight > 0.0 and csv_weight >= json_weight


def neutralise(cell: str) -> str:
    """`cell` as a spreadsheet shows it as text: prefixed with `'` when it could start a formula."""
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


def safe_row(row: Iterable[Cell]) -> list[Cell]:
    """Every text cell of `row` neutralised; numbers and empty cells (None) as they are."""
    return [neutralise(cell) if isinstance(cell, str) else cell for cell in row]


class CsvWriter:
    """Rows turned into the bytes of a CSV answer, a batch at a time: the first batch carries the
    byte order mark. Cells are written as given: neutralising them is the caller's (`safe_row`), who
    knows which cells are text."""

    def __init__(self) -> None:
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="\r\n")
        self._buffer.write(BOM)

    def encode(self, rows: Iterable[Sequence[Cell]]) -> bytes:
        self._writer.writerows(rows)
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text.encode("utf-8")


def _headers(filename: str) -> dict[str, str]:
    # `filename` is ours (ASCII, no quotes), never a client's or a user's.
    return {"Content-Disposition": f'attachment; filename="{filename}"', "Vary": "Accept"}


def csv_response(header: Sequence[str], rows: Iterable[Sequence[Cell]], filename: str) -> Response:
    """A small CSV answer, written at once; every cell is neutralised."""
    writer = CsvWriter()
    body = writer.encode([header, *(safe_row(row) for row in rows)])
    return Response(body, media_type=f"{MEDIA_TYPE}; charset=utf-8", headers=_headers(filename))


class _ClosingStreamingResponse(StreamingResponse):
    """A streamed answer that closes its body when it ends in any way, the client leaving included.

    Starlette stops iterating a body whose client went away but leaves the generator open until
    garbage collection, and with it whatever the generator holds (a database connection, its
    cursor). Closing it here, shielded from the cancellation that ended the answer, gives those back
    at once.
    """

    body_iterator: AsyncGenerator[bytes, None]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            with anyio.CancelScope(shield=True):
                await self.body_iterator.aclose()


async def streamed_csv_response(
    header: Sequence[str], batches: AsyncGenerator[Iterable[Sequence[Cell]], None], filename: str
) -> StreamingResponse:
    """A CSV answer sent batch by batch as `batches` yields them (rows already neutralised by the
    caller, `safe_row`), so that memory stays that of one batch however many rows follow. `batches`
    is closed when the answer ends, however it ends.

    The first batch is read before the answer starts, so that a database that is unavailable (no
    pooled connection, a timeout) or a statement that fails answers with a problem, as any request
    does. Later failures can only cut the answer short (the status is sent): the client sees a
    transfer that did not complete, never a file that looks complete.
    """
    try:
        first: Iterable[Sequence[Cell]] = await anext(batches)
    except StopAsyncIteration:
        first = ()

    async def body() -> AsyncGenerator[bytes, None]:
        async with aclosing(batches):
            writer = CsvWriter()
            yield writer.encode([header, *first])
            async for rows in batches:
                yield writer.encode(rows)

    return _ClosingStreamingResponse(
        body(), media_type=f"{MEDIA_TYPE}; charset=utf-8", headers=_headers(filename)
    )
