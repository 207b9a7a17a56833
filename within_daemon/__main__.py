"""``python -m within_daemon`` is the ``within-daemon`` command.

Guarded, with an absolute import: ``anyio.to_process`` runs the parent's main module in
each new worker process (as ``__mp_main__``, like multiprocessing's spawn), where this file
must do nothing (the enrichment workers, ``transforms/enrichment/workers.py``).
"""

from __future__ import annotations

if __name__ == "__main__":
    from within_daemon.cli import main

    raise SystemExit(main())
