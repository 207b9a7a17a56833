"""The evidence weights of the taxonomy's keyword tiers (see :mod:`..taxonomy` for their meaning).

Their own module so the topic lists and the package that joins them both read them without
importing each other.
"""

from __future__ import annotations

from typing import Final

STRONG: Final = 3.0
GOOD: Final = 2.0
WEAK: Final = 1.0
HINT: Final = 0.5
