"""Runtime configuration, read from environment variables and an optional `.env` file."""

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


_DEFAULT_PORTS = {"http": 80, "https": 443}
# A host as it appears in an origin: a name (IDNs in their ASCII form) or an IP address.
_HOST = re.compile(r"[a-z0-9.-]+|[0-9a-f:.]+")


def web_origin(text: str) -> str:
    """`text` as a browser sends it in `Origin` (`scheme://host[:port]`, lower case, no default port).

    Host names are case-insensitive and `https://a.example:443/` is the origin `https://a.example`,
    so both are written the one way browsers write them. Anything else is refused at start: a path
    would never match (hiding the mistake), and `*` or `null` would let every page in.
    """
    parts = urlsplit(text.strip())
    try:
        port = parts.port
    except ValueError:
        port = -1
    if (
        parts.scheme.lower() not in _DEFAULT_PORTS
        or not parts.hostname
        or not _HOST.fullmatch(parts.hostname)
        or parts.username is not None
        or parts.password is not None
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or port == -1
    ):
        raise ValueError(f"{text.strip()!r} is not an origin such as https://portal.example.com")
    scheme = parts.scheme.lower()
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{scheme}://{host}" if port in (None, _DEFAULT_PORTS[scheme]) else f"{scheme}://{host}:{port}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    database_url: str | None = Field(default=None, validation_alias=_env("DATABASE_URL"))
    # Checks each pooled connection with a round trip before use. Connections the server closed (a
    # restart) are replaced on checkout without it; this is for networks that drop them silently.
    db_pre_ping: bool = Field(default=False, validation_alias=_env("BLINK_DB_PRE_PING"))
    # Connections of the request pool; the mail worker has a small pool of its own.
    db_pool_size: int = Field(default=10, ge=1, validation_alias=_env("BLINK_DB_POOL_SIZE"))
    db_max_overflow: int = Field(default=10, ge=0, validation_alias=_env("BLINK_DB_MAX_OVERFLOW"))
    # Every wait on the database is bounded: beyond these a request answers 503 with Retry-After.
    db_pool_timeout_seconds: float = Field(
        default=2.0, gt=0, validation_alias=_env("BLINK_DB_POOL_TIMEOUT_SECONDS")
    )
    db_connect_timeout_seconds: float = Field(
        default=5.0, gt=0, validation_alias=_env("BLINK_DB_CONNECT_TIMEOUT_SECONDS")
    )
    db_command_timeout_seconds: float = Field(
        default=30.0, gt=0, validation_alias=_env("BLINK_DB_COMMAND_TIMEOUT_SECONDS")
    )
    ready_timeout_seconds: float = Field(
        default=3.0, gt=0, validation_alias=_env("BLINK_READY_TIMEOUT_SECONDS")
    )
    # Behind a pooler in transaction mode (PgBouncer `pool_mode = transaction`), a server connection
    # belongs to a client only for one transaction: no statement cache, unique statement names, and
    # every statement inside a transaction.
    db_transaction_pooler: bool = Field(default=False, validation_alias=_env("BLINK_DB_TRANSACTION_POOLER"))
    data_dir: Path = Field(default=Path(".data"), validation_alias=_env("BLINK_DATA_DIR"))
    host: str = Field(default="127.0.0.1", validation_alias=_env("HOST"))
    port: int = Field(default=8000, validation_alias=_env("PORT"))

    secret_key: str | None = Field(default=None, validation_alias=_env("BLINK_SECRET_KEY"))
    access_token_ttl_minutes: int = Field(
        default=480, ge=1, validation_alias=_env("BLINK_ACCESS_TOKEN_TTL_MINUTES")
    )
    password_token_ttl_hours: int = Field(
        default=72, ge=1, validation_alias=_env("BLINK_PASSWORD_TOKEN_TTL_HOURS")
    )
    # Log-in throttling (see blink_api.identity.throttling): failures are counted per (account, client
    # address) pair, per client address and per account, within one window.
    login_max_failures: int = Field(default=5, ge=1, validation_alias=_env("BLINK_LOGIN_MAX_FAILURES"))
    login_lockout_seconds: int = Field(default=60, ge=1, validation_alias=_env("BLINK_LOGIN_LOCKOUT_SECONDS"))
    login_address_max_failures: int = Field(
        default=20, ge=1, validation_alias=_env("BLINK_LOGIN_ADDRESS_MAX_FAILURES")
    )
    login_account_max_failures: int = Field(
        default=10, ge=1, validation_alias=_env("BLINK_LOGIN_ACCOUNT_MAX_FAILURES")
    )
    login_account_delay_seconds: int = Field(
        default=15, ge=1, validation_alias=_env("BLINK_LOGIN_ACCOUNT_DELAY_SECONDS")
    )
    login_failure_window_seconds: int = Field(
        default=900, ge=1, validation_alias=_env("BLINK_LOGIN_FAILURE_WINDOW_SECONDS")
    )
    login_trusted_days: int = Field(default=90, ge=0, validation_alias=_env("BLINK_LOGIN_TRUSTED_DAYS"))
    # Every log-in costs a password hash, right or wrong: one client address gets this many a minute.
    login_attempts_per_minute: int = Field(
        default=30, ge=1, validation_alias=_env("BLINK_LOGIN_ATTEMPTS_PER_MINUTE")
    )
    # Argon2 runs at most this many at once per process (each takes `argon2_memory_kib`); a log-in
    # that cannot start within `password_hash_wait_seconds` answers 503 with Retry-After.
    password_hash_concurrency: int = Field(
        default_factory=lambda: min(4, os.cpu_count() or 1),
        ge=1,
        validation_alias=_env("BLINK_PASSWORD_HASH_CONCURRENCY"),
    )
    password_hash_wait_seconds: float = Field(
        default=0.5, ge=0, le=30, validation_alias=_env("BLINK_PASSWORD_HASH_WAIT_SECONDS")
    )
    argon2_time_cost: int = Field(default=3, ge=1, validation_alias=_env("BLINK_ARGON2_TIME_COST"))
    argon2_memory_kib: int = Field(default=65536, ge=8, validation_alias=_env("BLINK_ARGON2_MEMORY_KIB"))
    argon2_parallelism: int = Field(default=4, ge=1, validation_alias=_env("BLINK_ARGON2_PARALLELISM"))

    bootstrap_admin_email: str | None = Field(
        default=None, validation_alias=_env("BLINK_BOOTSTRAP_ADMIN_EMAIL")
    )
    bootstrap_admin_password: str | None = Field(
        default=None, validation_alias=_env("BLINK_BOOTSTRAP_ADMIN_PASSWORD")
    )
    demo_data: bool = Field(default=False, validation_alias=_env("BLINK_DEMO_DATA"))

    smtp_host: str | None = Field(default=None, validation_alias=_env("SMTP_HOST"))
    smtp_port: int = Field(default=587, validation_alias=_env("SMTP_PORT"))
    smtp_from: str = Field(default="Blink <noreply@localhost>", validation_alias=_env("SMTP_FROM"))
    smtp_username: str | None = Field(default=None, validation_alias=_env("SMTP_USERNAME"))
    smtp_password: str | None = Field(default=None, validation_alias=_env("SMTP_PASSWORD"))
    smtp_starttls: bool = Field(default=False, validation_alias=_env("SMTP_STARTTLS"))
    portal_base_url: str = Field(
        default="http://127.0.0.1:8000", validation_alias=_env("BLINK_PORTAL_BASE_URL")
    )

    storage_url: str = Field(default="file://.data/files", validation_alias=_env("STORAGE_URL"))
    s3_endpoint_url: str | None = Field(default=None, validation_alias=_env("S3_ENDPOINT_URL"))
    embedded_worker: bool = Field(default=True, validation_alias=_env("BLINK_EMBEDDED_WORKER"))
    # Webhooks reach only public `https` addresses; true lets them reach local and private ones over
    # `http` too (development, tests).
    webhook_allow_private_networks: bool = Field(
        default=False, validation_alias=_env("BLINK_WEBHOOK_ALLOW_PRIVATE_NETWORKS")
    )

    max_body_bytes: int = Field(default=1_048_576, ge=1024, validation_alias=_env("BLINK_MAX_BODY_BYTES"))
    max_upload_bytes: int = Field(
        default=25_000_000, ge=1024, validation_alias=_env("BLINK_MAX_UPLOAD_BYTES")
    )
    # Anonymous public-form requests per client address and minute (see blink_api.kit.ratelimit).
    public_form_reads_per_minute: int = Field(
        default=60, ge=1, validation_alias=_env("BLINK_PUBLIC_FORM_READS_PER_MINUTE")
    )
    public_form_submissions_per_minute: int = Field(
        default=10, ge=1, validation_alias=_env("BLINK_PUBLIC_FORM_SUBMISSIONS_PER_MINUTE")
    )
    # Image decoding at upload and PDF rendering: how many run at once in one process (each may take a
    # few hundred MB for a moment), and how long a request waits for its turn before 503/429.
    render_concurrency: int = Field(default=2, ge=1, validation_alias=_env("BLINK_RENDER_CONCURRENCY"))
    render_wait_seconds: float = Field(
        default=2.0, ge=0, le=60, validation_alias=_env("BLINK_RENDER_WAIT_SECONDS")
    )

    # A body must arrive within this allowance plus one second per `body_min_bytes_per_second` bytes
    # received (else 408); it is read in full before the endpoint runs, so a slow client holds no
    # database connection. The head of a request must arrive within `header_timeout_seconds`.
    body_timeout_seconds: float = Field(
        default=10.0, gt=0, validation_alias=_env("BLINK_BODY_TIMEOUT_SECONDS")
    )
    body_min_bytes_per_second: int = Field(
        default=4096, ge=1, validation_alias=_env("BLINK_BODY_MIN_BYTES_PER_SECOND")
    )
    header_timeout_seconds: float = Field(
        default=10.0, gt=0, validation_alias=_env("BLINK_HEADER_TIMEOUT_SECONDS")
    )

    # Origins of browser front ends that may call the API (comma-separated); none by default, so no
    # other origin's page can read an answer.
    cors_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(), validation_alias=_env("BLINK_CORS_ORIGINS")
    )

    log_level: str = Field(default="INFO", validation_alias=_env("LOG_LEVEL"))
    log_json: bool = Field(default=True, validation_alias=_env("BLINK_LOG_JSON"))

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origin_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [item for item in value.split(",") if item.strip()]
        if isinstance(value, list | tuple):
            return tuple(dict.fromkeys(web_origin(item) for item in value))
        return value

    @property
    def mail_dir(self) -> Path:
        return self.data_dir / "mail"


@lru_cache
def get_settings() -> Settings:
    return Settings()
