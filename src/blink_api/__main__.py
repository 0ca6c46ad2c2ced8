"""`python -m blink_api` is the `blink-api` command."""

from blink_api.cli import main

raise SystemExit(main())
