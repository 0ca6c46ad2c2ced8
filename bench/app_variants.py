"""Run the application as `blink-api serve` does, with a measuring route added in memory.

    python bench/app_variants.py --variant stats serve --host 127.0.0.1 --port 8000

Used by `python bench/list_tickets.py --app-variant stats`. The one variant left, `stats`, changes
nothing but adds GET /__bench/gc: the garbage collector's work so far (count and CPU seconds per
generation). The experimental changes this file used to patch in (frozen start-up objects and fewer
young collections, a list without ORM objects, an async page dependency, no pool pre-ping) were
measured here first and are in src/ now.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

VARIANTS = ("stats",)

# Cumulative CPU time of the cyclic garbage collector, per generation. Thread CPU time rather than
# wall time: on a loaded machine a collection may be preempted, which is not the collector's cost.
_gc_stats: dict[str, list[float]] = {"count": [0, 0, 0], "seconds": [0.0, 0.0, 0.0]}
_gc_started = 0.0


def _on_gc(phase: str, info: dict[str, Any]) -> None:
    global _gc_started
    if phase == "start":
        _gc_started = time.thread_time()
    else:
        generation = info["generation"]
        _gc_stats["count"][generation] += 1
        _gc_stats["seconds"][generation] += time.thread_time() - _gc_started


def patch_app() -> None:
    from blink_api import app as app_module

    original = app_module.create_app

    def create_app(*args: Any, **kwargs: Any) -> Any:
        app = original(*args, **kwargs)

        async def gc_stats() -> dict[str, Any]:
            return _gc_stats

        app.add_api_route("/__bench/gc", gc_stats, methods=["GET"], include_in_schema=False)
        return app

    app_module.create_app = create_app


def main() -> None:
    import gc

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", default="stats", help=f"comma-separated: {', '.join(VARIANTS)}")
    args, rest = parser.parse_known_args()
    variants = {v for v in args.variant.split(",") if v}
    if unknown := variants - set(VARIANTS):
        parser.error(f"unknown variant(s): {', '.join(sorted(unknown))}")
    gc.callbacks.append(_on_gc)
    patch_app()

    from blink_api.cli import main as cli_main

    sys.exit(cli_main(rest))


if __name__ == "__main__":
    main()
