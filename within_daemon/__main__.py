"""``python -m within_daemon`` is the ``within-daemon`` command."""

from __future__ import annotations

from .cli import main

raise SystemExit(main())
