"""The `blink-api` command: serve, worker, migrate, create-admin, export-openapi.

Each command imports what it runs when it runs, so `migrate` and `worker` start without loading the
web application and every route in it.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import signal
import sys
from pathlib import Path

from blink_api.kit.config import Settings, get_settings
from blink_api.kit.observability import configure_logging


def _project_root() -> Path:
    """The folder holding `migrations/`: the checkout in development, the working directory in an image."""
    checkout = Path(__file__).resolve().parents[2]
    return checkout if (checkout / "migrations").is_dir() else Path.cwd()


def _alembic_config(url: str):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    root = _project_root()
    ini = root / "alembic.ini"
    config = Config(str(ini)) if ini.exists() else Config()
    config.set_main_option("script_location", str(root / "migrations"))
    config.attributes["database_url"] = url
    return config


def migrate(settings: Settings, revision: str = "head") -> None:
    from alembic import command

    from blink_api.kit.db import resolve_database_url

    command.upgrade(_alembic_config(resolve_database_url(settings)), revision)


def cmd_migrate(args: argparse.Namespace) -> int:
    migrate(get_settings(), args.revision)
    print("database migrated to", args.revision)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from blink_api.kit.http_server import http_protocol

    settings = get_settings()
    if args.migrate:
        migrate(settings)
    host, port = args.host or settings.host, args.port or settings.port
    print(f"Blink API on http://{host}:{port}  (Swagger UI: http://{host}:{port}/docs)", flush=True)
    uvicorn.run(
        "blink_api.app:create_app",
        factory=True,
        host=host,
        port=port,
        log_config=None,
        proxy_headers=True,
        workers=args.workers,
        # uvicorn's protocol plus a deadline and a size cap for each request's head.
        http=http_protocol(),
    )
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from blink_api.kit.db import resolve_database_url
    from blink_api.notifications.delivery import DeliveryWorker
    from blink_api.schedules.worker import ScheduleWorker
    from blink_api.tickets.sla_worker import SlaWorker
    from blink_api.webhooks import service  # noqa: F401 - it listens for `ticket.sla_breached` of breaches
    from blink_api.webhooks.delivery import WebhookWorker

    settings = get_settings()

    async def run() -> None:
        database = DeliveryWorker.database_for(resolve_database_url(settings), settings)
        webhooks_db = WebhookWorker.database_for(resolve_database_url(settings), settings)
        sla_db = SlaWorker.database_for(resolve_database_url(settings), settings)
        schedules_db = ScheduleWorker.database_for(resolve_database_url(settings), settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        # Finish the mails in hand on SIGTERM/SIGINT (event-loop signal handlers exist on POSIX only).
        if sys.platform != "win32":
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
        try:
            await asyncio.gather(
                DeliveryWorker(database, settings).run(stop, poll_seconds=args.poll_seconds),
                WebhookWorker(webhooks_db, settings).run(stop, poll_seconds=args.poll_seconds),
                SlaWorker(sla_db, settings).run(stop),
                ScheduleWorker(schedules_db, settings).run(stop),
            )
        finally:
            await database.dispose()
            await webhooks_db.dispose()
            await sla_db.dispose()
            await schedules_db.dispose()

    asyncio.run(run())
    return 0


def cmd_create_admin(args: argparse.Namespace) -> int:
    from blink_api.bootstrap import WeakPassword, create_admin
    from blink_api.identity.password_policy import MIN_LENGTH
    from blink_api.identity.repository import email_taken
    from blink_api.kit.db import Database, resolve_database_url
    from blink_api.kit.passwords import Passwords

    settings = get_settings()
    prompt = f"Password (at least {MIN_LENGTH} characters, hard to guess): "
    password = args.password or getpass.getpass(prompt)

    async def run() -> int:
        database = Database(
            resolve_database_url(settings),
            pool_size=1,
            max_overflow=0,
            transaction_pooler=settings.db_transaction_pooler,
        )
        try:
            async with database.sessionmaker.begin() as session:
                if await email_taken(session, args.email.strip().lower()):
                    print("error: an account with this e-mail exists already", file=sys.stderr)
                    return 1
                admin = await create_admin(
                    session, Passwords(settings), email=args.email, password=password, name=args.name
                )
            print(f"administrator {admin.email} created ({admin.id})")
            return 0
        except WeakPassword as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        finally:
            await database.dispose()

    return asyncio.run(run())


def cmd_export_openapi(args: argparse.Namespace) -> int:
    from blink_api.app import create_app

    document = create_app(Settings(_env_file=None)).openapi()
    text = json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text, encoding="utf-8")
        print("wrote", args.output)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="blink-api", description="Blink API")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="serve the HTTP API")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--migrate", action="store_true", help="migrate the database first")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser(
        "worker",
        help="deliver queued e-mail and webhooks, handle service-level breaches and raise scheduled "
        "tickets (when BLINK_EMBEDDED_WORKER=false)",
    )
    p.add_argument("--poll-seconds", type=float, default=1.0)
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("migrate", help="apply database migrations")
    p.add_argument("revision", nargs="?", default="head")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("create-admin", help="create an administrator holding every permission")
    p.add_argument("email")
    p.add_argument("--name", default="Administrator")
    p.add_argument("--password", help="prompted for when left out")
    p.set_defaults(func=cmd_create_admin)

    p = sub.add_parser("export-openapi", help="write the OpenAPI document")
    p.add_argument("output", nargs="?", default="openapi/openapi.json")
    p.set_defaults(func=cmd_export_openapi)

    args = parser.parse_args(argv)
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
