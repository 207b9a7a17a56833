"""Feature fields as ``(name, Python scalar type)``: what an enricher fills, with no SQL in it.

Enrichers say what they produce in Python terms; the loaders turn that into columns
(``loaders.schema.columns``), so a transform never names a database type.
"""

from __future__ import annotations

import typing
from types import NoneType
from typing import Final

import msgspec

#: A feature's name and the scalar it holds (None aside: every feature may be missing).
Field = tuple[str, type]

#: The scalars a feature may hold; the loader knows a column type for each.
SCALARS: Final = (bool, int, float, str)


def struct_fields(struct: type[msgspec.Struct]) -> tuple[Field, ...]:
    """The fields of a feature struct, in declaration order, as ``(name, scalar type)``."""
    out: list[Field] = []
    for field in msgspec.structs.fields(struct):
        scalars = [t for t in typing.get_args(field.type) or (field.type,) if t is not NoneType]
        if len(scalars) != 1 or scalars[0] not in SCALARS:
            raise TypeError(f"{struct.__name__}.{field.name}: a feature is one scalar or None, "
                            f"not {field.type!r}")
        out.append((field.name, scalars[0]))
    return tuple(out)
