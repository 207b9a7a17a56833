"""The CLI commands over what the daemon stored: quality scores, training datasets, features.

``quality`` prints the latest quality score per account and dimension (exit 1 when one is
below its threshold), ``train`` builds the model store's training datasets, ``features``
lists the feature definitions. None of them starts the daemon; ``config_of`` is the config
every command reads (``--config``, then ``$WITHIN_CONFIG``, then the default files).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import anyio

from .config import LoadedConfig, find_config_path, load_config
from .errors import ConfigError
from .pipelines.results import EXIT_FAILED, EXIT_OK


def config_of(args: argparse.Namespace) -> LoadedConfig:
    # Loading registers every secret (tokens, client secrets, url passwords) for redaction.
    return load_config(find_config_path(args.config))


def cmd_features(args: argparse.Namespace) -> int:
    from .features import describe

    print(describe(), end="")
    return EXIT_OK


def cmd_train(args: argparse.Namespace) -> int:
    import json

    from .loaders import DatabaseLoader
    from .pipelines.training import (
        DATASETS,
        InsufficientDataError,
        TrainingDataPipeline,
    )

    loaded = config_of(args)
    ms = loaded.config.model_store
    root = Path(args.output or ms.root)
    root = root if root.is_absolute() else loaded.base_dir / root
    names = list(DATASETS) if args.dataset == "all" else [args.dataset]

    async def go() -> int:
        url = loaded.config.database.url
        code = EXIT_OK
        async with DatabaseLoader.from_url(url, base_dir=loaded.base_dir) as db:
            pipe = TrainingDataPipeline(db, root)
            for name in names:
                try:
                    out = await pipe.build(name, as_of=args.as_of, horizon_days=ms.horizon_days)
                except InsufficientDataError as exc:
                    print(f"{name}: not built: {exc}", file=sys.stderr)
                    code = EXIT_FAILED
                    continue
                print(json.dumps(out, indent=2, default=str))
        return code

    return anyio.run(go, backend="asyncio")


def cmd_quality(args: argparse.Namespace) -> int:
    from .loaders import DatabaseLoader
    from .loaders.quality_reports import latest_quality

    if args.db and args.db.startswith(("postgresql://", "postgres://")):
        url, base = args.db, None
    elif args.db:
        url, base = f"sqlite:///{Path(args.db).resolve()}", None
        if not Path(args.db).exists():
            raise ConfigError(f"{args.db}: no such database file")
    else:
        loaded = config_of(args)
        url, base = loaded.config.database.url, loaded.base_dir

    async def go() -> list[dict[str, Any]]:
        async with DatabaseLoader.from_url(url, base_dir=base) as db:
            return await latest_quality(db)

    rows = anyio.run(go, backend="asyncio")
    if not rows:
        print("no quality reports yet: run an AdDataPipeline task first")
        return EXIT_OK
    dims = sorted({r["dimension"] for r in rows})
    print(f"{'platform/account':<28} " + " ".join(f"{d[:12]:>12}" for d in dims) + "  checked at")
    by_acct: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for r in rows:
        by_acct.setdefault((r["platform"], r["account_id"]), {})[r["dimension"]] = r
    failing = 0
    for (platform, account), per in sorted(by_acct.items()):
        cells = []
        for d in dims:
            cell = per.get(d)
            if cell is None:
                cells.append(f"{'-':>12}")
                continue
            mark = "" if cell["passed"] else "!"
            failing += not cell["passed"]
            cells.append(f"{cell['score']:>11.3f}{mark or ' '}")
        when = max(r["created_at"] for r in per.values())
        print(f"{platform + '/' + account:<28} " + " ".join(cells) + f"  {when}")
    if failing:
        print(f"{failing} score(s) below threshold are marked with !")
    return EXIT_OK if not failing else EXIT_FAILED
