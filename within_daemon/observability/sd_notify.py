"""The systemd notify protocol, written directly: one datagram to ``$NOTIFY_SOCKET``.

Outside systemd (no ``NOTIFY_SOCKET``) every call is a no-op, so the daemon can call it
unconditionally. The send never blocks: a datagram socket whose reader is slow would
otherwise stall the event loop (Linux queues only a few datagrams per socket), and a
lost notification is better than a frozen daemon.
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__)


def notify(*lines: str) -> bool:
    """Send ``READY=1``-style lines; returns whether a socket was there to send to."""
    addr = os.environ.get("NOTIFY_SOCKET")
    if not addr:
        return False
    if addr.startswith("@"):
        addr = "\0" + addr[1:]  # abstract namespace socket
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.setblocking(False)
            sock.connect(addr)
            sock.send("\n".join(lines).encode())
    except OSError as exc:  # BlockingIOError included: the reader's queue is full
        log.warning("sd_notify %s not delivered: %s", lines[0] if lines else "", exc)
        return False
    return True
