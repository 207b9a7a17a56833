"""Test-only helpers: fakes of outside things (clocks), never of our own modules."""
