"""Signed access tokens (JWT) and the single-use tokens of set-password links."""

from __future__ import annotations

import hashlib
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
