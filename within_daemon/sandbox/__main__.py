"""Command line for the sandbox emulators: serve one in the foreground until a signal.

``python -m within_daemon.sandbox facebook --port 8765`` prints the base URL as its first
line (flushed), so a parent process can start it and read where to connect, then serves
until SIGTERM or SIGINT. ``python -m within_daemon.sandbox images --port 0`` does the same
for the creative-image server (``sandbox/images.py``), which the Facebook emulator's
``--image-base-url`` can point at.
"""

from __future__ import annotations

import argparse
import datetime as dt
import signal
import sys
from collections.abc import Sequence

import anyio

from within_daemon.sandbox.facebook.data import SandboxAccount, default_accounts
from within_daemon.sandbox.facebook.server import FacebookEmulator
from within_daemon.sandbox.images import ImageServer


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m within_daemon.sandbox")
    sub = parser.add_subparsers(dest="platform", required=True)
    fb = sub.add_parser("facebook", help="Facebook Marketing (Graph) API emulator")
    fb.add_argument("--host", default="127.0.0.1")
    fb.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    fb.add_argument("--accounts", type=int, help="number of generated accounts")
    fb.add_argument("--ads-per-account", type=int, help="ads in each generated account")
    fb.add_argument("--active-from", type=dt.date.fromisoformat, help="first day with data")
    fb.add_argument("--seed", type=int, default=7)
    fb.add_argument("--job-step", type=int, default=50, help="async job %% per status poll")
    fb.add_argument("--image-base-url", default="https://cdn.example.test",
                    help="where creatives' image_url point (e.g. a local image server)")
    img = sub.add_parser("images", help="creative-image server (deterministic images)")
    img.add_argument("--host", default="127.0.0.1")
    img.add_argument("--port", type=int, default=0, help="0 picks a free port")
    img.add_argument("--delay", type=float, default=0.0, metavar="SECONDS",
                     help="wait this long before every answer (a distant CDN)")
    return parser


def facebook_accounts(
    n_accounts: int | None, ads_per_account: int | None, active_from: dt.date | None
) -> list[SandboxAccount]:
    """The default accounts, or ``n_accounts`` generated ones when any option is given."""
    if n_accounts is None and ads_per_account is None and active_from is None:
        return default_accounts()
    start = (active_from or dt.date(2020, 1, 1)).isoformat()
    return [
        SandboxAccount.with_ads(
            str(1_000_000_001 + i), f"Sandbox account {i + 1}", ads_per_account or 18,
            active_from=start,
        )
        for i in range(n_accounts or 2)
    ]


async def _serve_facebook(args: argparse.Namespace) -> None:
    accounts = facebook_accounts(args.accounts, args.ads_per_account, args.active_from)
    emu = FacebookEmulator(accounts, seed=args.seed, job_step=args.job_step,
                           image_base_url=args.image_base_url)
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async with emu.serve(args.host, args.port) as base_url:
            print(base_url, flush=True)
            print(
                f"accounts: {', '.join(a.account_id for a in accounts)}", file=sys.stderr,
                flush=True,
            )
            async for _ in signals:
                break


async def _serve_images(args: argparse.Namespace) -> None:
    server = ImageServer(delay_seconds=args.delay)
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async with server.serve(args.host, args.port):
            print(server.url("/"), flush=True)
            async for _ in signals:
                break


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.platform == "facebook":
        anyio.run(_serve_facebook, args, backend="asyncio")
    elif args.platform == "images":
        anyio.run(_serve_images, args, backend="asyncio")
    return 0


if __name__ == "__main__":
    sys.exit(main())
