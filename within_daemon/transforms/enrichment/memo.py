"""When a text enricher may keep its answer: the bound on what its memos hold.

The text enrichers keep the answers of the last few thousand distinct texts (ad copy comes
from templates, so texts repeat across creatives). Each memo holds its keys, the texts
themselves, so a text is only kept while it is short: ad text is hostile input, and a few
thousand descriptions of a megabyte each would otherwise stay in memory. Longer texts are
enriched every time (same values, no memo).
"""

from __future__ import annotations

from typing import Final

#: Most characters (all of a call's texts together) whose answer a memo keeps: with 4,096
#: entries per memo, at most about 16 MB of keys per memo, a few hundred kB in practice.
MEMO_MAX_CHARS: Final = 1000


def memoizable(*texts: str) -> bool:
    """Whether an answer over ``texts`` may be kept."""
    return sum(len(t) for t in texts) <= MEMO_MAX_CHARS
