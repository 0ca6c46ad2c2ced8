"""Signed access tokens (JWT), the single-use tokens of set-password links, and API token secrets."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

TOKEN_ALGORITHM = "HS256"
TOKEN_AUDIENCE = "blink-api"


@dataclass(frozen=True, slots=True)
class TokenClaims:
    account_id: uuid.UUID
    token_version: int


class Tokens:
    # Verified tokens are remembered until they expire: every request of a client sends the same token,
    # and decoding and verifying it again costs more than the rest of a small request's Python.
    # Revocation does not depend on this: `token_version` and `is_active` are read on every request.
    MAX_REMEMBERED = 10_000

    def __init__(self, signing_key: str, ttl: timedelta) -> None:
        self._key = signing_key
        self.ttl = ttl
        self._verified: dict[str, tuple[TokenClaims, float]] = {}

    def issue(self, account_id: uuid.UUID, token_version: int, *, now: datetime | None = None) -> str:
        issued_at = now or datetime.now(UTC)
        claims = {
            "sub": str(account_id),
            "ver": token_version,
            "iat": issued_at,
            "exp": issued_at + self.ttl,
            "aud": TOKEN_AUDIENCE,
        }
        return jwt.encode(claims, self._key, algorithm=TOKEN_ALGORITHM)

    def read(self, token: str) -> TokenClaims | None:
        """The claims of a valid, unexpired token; None for anything else."""
        remembered = self._verified.get(token)
        if remembered is not None:
            claims, expires_at = remembered
            if time.time() < expires_at:
                return claims
            del self._verified[token]
            return None
        try:
            decoded = jwt.decode(
                token,
                self._key,
                algorithms=[TOKEN_ALGORITHM],
                audience=TOKEN_AUDIENCE,
                options={"require": ["sub", "exp", "ver"]},
            )
            claims = TokenClaims(uuid.UUID(decoded["sub"]), int(decoded["ver"]))
            expires_at = float(decoded["exp"])
        except (jwt.PyJWTError, ValueError, TypeError):
            return None
        if len(self._verified) >= self.MAX_REMEMBERED:
            self._verified.clear()
        self._verified[token] = (claims, expires_at)
        return claims


def new_link_token() -> tuple[str, str]:
    """A random single-use token and the hash under which it is stored."""
    token = secrets.token_urlsafe(32)
    return token, hash_link_token(token)


def hash_link_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# API tokens carry a prefix of their own: a JWT never starts with it, so a bearer token says which
# kind it is without a lookup, and secret scanners can recognise a leaked one.
API_TOKEN_PREFIX = "blk_"
# 32 random bytes, URL-safe base64 without padding: 256 bits nobody can guess.
_API_TOKEN = re.compile(rf"{API_TOKEN_PREFIX}[A-Za-z0-9_-]{{43}}")
# What a token's owner is shown to recognise it: the prefix and the first 8 characters of the secret.
API_TOKEN_SHOWN = len(API_TOKEN_PREFIX) + 8


def new_api_token() -> tuple[str, str]:
    """A new API token and the hash under which it is stored (the token itself never is)."""
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, hash_api_token(token)


def is_api_token(token: str) -> bool:
    """Whether a bearer token is meant as an API token (rather than an access token)."""
    return token.startswith(API_TOKEN_PREFIX)


def well_formed_api_token(token: str) -> bool:
    return _API_TOKEN.fullmatch(token) is not None


def hash_api_token(token: str) -> str:
    # The secret is random and long, so a fast hash is enough: nothing can be guessed from it, and a
    # lookup by this hash (a unique index) takes the same time whichever tokens exist.
    return hashlib.sha256(token.encode()).hexdigest()
