"""Signatures as the Standard Webhooks specification defines them, made by its maintained library.

The secret is `whsec_` and the base64 of 32 random bytes; the key is those bytes. Each attempt is
signed anew: `v1,` and the base64 HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}`.
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets

from standardwebhooks import Webhook

PREFIX = "whsec_"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def sign(secret: str, webhook_id: str, timestamp: int, body: str) -> str:
    return Webhook(secret).sign(webhook_id, dt.datetime.fromtimestamp(timestamp, dt.UTC), body)


def headers(secret: str, webhook_id: str, timestamp: int, body: str) -> dict[str, str]:
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, webhook_id, timestamp, body),
    }
