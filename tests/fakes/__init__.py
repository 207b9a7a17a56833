"""Test-only helpers: fakes of outside things (clocks) and a bounded wait (``wait``).

Never fakes of our own modules.
"""
