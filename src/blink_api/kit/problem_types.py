"""Every kind of problem the API answers with, and the page each problem's `type` leads to.

A problem document's `type` is `/problems/<slug>`, relative to the API's origin; `GET /problems/<slug>`
answers a page saying when the problem happens and what the caller should do about it. This registry
is the one place those kinds are declared: the error classes (`kit.errors`) take their status and
title from it, and answering a problem with a slug it does not know is a programming error that
fails loudly (in the tests), so no emitted `type` ever leads nowhere.

Texts may mark code with backticks; the HTML page shows it as code, the JSON leaves it as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

TYPE_PREFIX = "/problems/"


@dataclass(frozen=True)
class ProblemType:
    slug: str
    status: int
    title: str
    when: str  # when the API answers with this problem
    then: str  # what the caller should do about it

    @property
    def uri(self) -> str:
        return TYPE_PREFIX + self.slug


_ALL = (
    ProblemType(
        "bad-request",
        400,
        "Bad request",
        "The request is not valid HTTP/1.1: a request line or header the server cannot read, a "
        "`Content-Length` that is not a number, a malformed chunk of a chunked body. The server "
        "answers before any operation sees the request and closes the connection; nothing was carried "
        "out.",
        "Fix the client or the proxy in between: every ordinary HTTP client sends what the server "
        "reads. The same request is refused again.",
    ),
    ProblemType(
        "unauthorized",
        401,
        "Authentication required",
        "The request carries no credentials the API accepts: no `Authorization: Bearer ...` header, an "
        "access token that has expired or was issued before its account's password changed, an API "
        "token that was revoked, has expired or whose owner was deactivated, or, at "
        "`POST /api/v1/auth/token`, an e-mail address and password that do not match. The answer "
        "carries `WWW-Authenticate: Bearer`.",
        "Log in again with `POST /api/v1/auth/token` and send the new access token as "
        "`Authorization: Bearer <token>`, or ask the token's owner for a new API token. Sending the same "
        "request again unchanged gets the same answer.",
    ),
    ProblemType(
        "forbidden",
        403,
        "Forbidden",
        "The caller is known but may not do this: the account lacks the permission the operation "
        "needs, the action is not open to it on a resource it can see (a customer user setting a "
        "ticket's due date, for one), or an API token lacks the scope the operation needs. For a "
        "token, `detail` names the missing scope (e.g. `tickets:write`); operations that manage API "
        "tokens refuse every API token and need a password log-in.",
        "Do not retry: the answer stays the same until the rights change. Ask an administrator for "
        "the permission, or create an API token that holds the scope named in `detail` (the API "
        "documentation lists each operation's scope under `APIToken`).",
    ),
    ProblemType(
        "not-found",
        404,
        "Not found",
        "Nothing the caller may see lives at this address: the id does not exist, was deleted, or "
        "belongs to what lies outside the caller's scope (another tenant's ticket, a site not assigned "
        "to a customer user). The API answers all of these alike so as not to reveal what exists. "
        "Addresses no operation serves answer it too.",
        "Check the id and the path (operations live under `/api/v1/`). An id read by another account "
        "may not be visible to this one. Retrying does not help.",
    ),
    ProblemType(
        "method-not-allowed",
        405,
        "Method not allowed",
        "The address exists, but not with this HTTP method (a `PUT` where the API takes `PATCH`, "
        "say). The `Allow` header lists the methods the address serves.",
        "Use one of the methods in `Allow`; the API documentation shows what each one does.",
    ),
    ProblemType(
        "request-timeout",
        408,
        "Request timeout",
        "The request arrived too slowly. Its head (request line and headers) must be complete within "
        "`BLINK_HEADER_TIMEOUT_SECONDS` of the connection opening or of the previous answer; its body "
        "within "
        "`BLINK_BODY_TIMEOUT_SECONDS` (10 by default) plus one second for every "
        "`BLINK_BODY_MIN_BYTES_PER_SECOND` bytes (4096 by default) received; the API stops waiting "
        "and closes the connection. Nothing of the request was carried out.",
        "Send the request again on a new connection, with the body at a steady pace. If it keeps "
        "happening for large uploads, the connection is too slow for their size.",
    ),
    ProblemType(
        "conflict",
        409,
        "Conflict",
        "The request conflicts with the current state of the data: a value that must be unique is "
        "already taken (an e-mail address, a name), something still in use cannot be removed, or a "
        "request with the same `Idempotency-Key` is still being carried out. Two requests creating "
        "the same thing at the same moment end here too. `detail` says which.",
        "Reload what the request is about and decide on the current state: choose another value, or "
        "remove what still uses the resource first. For an `Idempotency-Key` in progress, wait a "
        "moment and send the identical request again: once the first one is done it is answered with "
        "the first one's answer (`Idempotent-Replayed: true`), never carried out twice.",
    ),
    ProblemType(
        "precondition-failed",
        412,
        "Precondition failed",
        "The request's `If-Match` names an `ETag` that is no longer the resource's: someone changed "
        "it after you read it. Nothing was changed, so the other change is not overwritten.",
        "Read the resource again (`GET`, which answers its current `ETag`), apply your change to what "
        "is there now, and send it with the new `ETag` in `If-Match`.",
    ),
    ProblemType(
        "payload-too-large",
        413,
        "Payload too large",
        "The request is larger than the API accepts: a body over `BLINK_MAX_BODY_BYTES` (1 MiB by "
        "default), files over `BLINK_MAX_UPLOAD_BYTES` (25 MB by default) sent to an operation that "
        "takes uploads, or one file or image larger than a single file may be (too many bytes or too "
        "many pixels). When the body was not read to its end, the connection is closed.",
        "Send less: smaller or fewer files per request, images at a lower resolution. The same body "
        "is refused again.",
    ),
    ProblemType(
        "request-header-fields-too-large",
        431,
        "Request header fields too large",
        "The request's head (request line and headers together) is larger than 64 KiB, more than any "
        "browser or client library sends. The API stops reading and closes the connection; nothing of "
        "the request was carried out.",
        "Send fewer or shorter headers: a long `Cookie` or a header repeated many times is the usual "
        "cause. The same head is refused again.",
    ),
    ProblemType(
        "unsupported-media-type",
        415,
        "Unsupported media type",
        "The body is not of a kind the operation reads: JSON sent with another `Content-Type` (or "
        "none), a body type the operation does not take at all, or an uploaded file of a type it "
        "refuses (a file that is not a readable image where a photo is expected). `detail` says what "
        "was sent.",
        "Send JSON with `Content-Type: application/json`, files as `multipart/form-data` where the "
        "operation takes them, and only the file types the operation names.",
    ),
    ProblemType(
        "validation-error",
        422,
        "Invalid input",
        "The request was understood, but what it says is not valid. The `errors` list names every "
        'offending value: `loc` is where it is (`["body", "title"]`, `["query", "limit"]`, '
        '`["path", "ticket_id"]`, `["header", "Idempotency-Key"]`), `msg` says what is wrong '
        "in words, `type` says it for programs (`missing`, `string_too_long`, `value_error`, ...). A "
        'body that is not readable JSON is reported at `["body"]`; an `Idempotency-Key` used again '
        'with a different body at `["header", "Idempotency-Key"]`.',
        "Correct the values the `errors` list names and send the request again; a form can show each "
        "`msg` beside the field its `loc` points to. A new request needs a new `Idempotency-Key`.",
    ),
    ProblemType(
        "too-many-requests",
        429,
        "Too many requests",
        "This client sent too many requests of one kind in a short time: log-ins from one address "
        "(`BLINK_LOGIN_ATTEMPTS_PER_MINUTE`), failed log-ins for one e-mail address (locked for a "
        "while, longer with each further failure), anonymous reads and submissions of public forms, "
        "or a second image or PDF job while the caller's first one still runs. The `Retry-After` "
        "header says how many seconds to wait.",
        "Wait at least `Retry-After` seconds before sending the request again. Do not retry in a "
        "loop, and do not guess passwords: each further failed log-in makes the next lock longer.",
    ),
    ProblemType(
        "internal-error",
        500,
        "Internal server error",
        "Something went wrong in the API that no client input explains. It has been logged with the "
        "request id the answer carries in `X-Request-ID`.",
        "Retry later if the request is safe to repeat (a read, or a write with an `Idempotency-Key`). "
        "If it persists, report it to the operator with the `X-Request-ID` of the answer.",
    ),
    ProblemType(
        "service-unavailable",
        503,
        "Service unavailable",
        "The API cannot serve the request right now: the database does not answer, is too slow or has "
        "no free connection, too many password checks are running at once, or image and PDF "
        "rendering is busy. The `Retry-After` header says how many seconds to wait. It is a passing "
        "state, not a fault of the request.",
        "Wait `Retry-After` seconds and send the request again, waiting longer after each further 503. "
        "Send writes with an `Idempotency-Key` where the operation takes one, so that a retry can "
        "never carry them out twice.",
    ),
)

PROBLEM_TYPES: dict[str, ProblemType] = {kind.slug: kind for kind in _ALL}


def problem_type(slug: str) -> ProblemType:
    """The registered problem type `slug`; a slug nobody registered is a bug, raised at once."""
    try:
        return PROBLEM_TYPES[slug]
    except KeyError:
        raise LookupError(f"problem type {slug!r} is not registered in kit.problem_types") from None
