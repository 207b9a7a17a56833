"""The exception tree drawn in ``within_daemon.errors``'s docstring is the one in the code."""

from __future__ import annotations

import importlib
import pkgutil
import re

import within_daemon
from within_daemon import errors
from within_daemon.errors import WithinError

#: A drawn line: indentation (tree characters), a class name, its description.
LINE = re.compile(r"^(?P<indent>[\s│├└─]*?)(?P<name>[A-Z]\w+)(?:\s{2,}|$)")


def drawn_tree() -> dict[str, str | None]:
    """Each class in the docstring's drawing -> the class it hangs under (None at the root)."""
    doc = errors.__doc__ or ""
    parents: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []
    for line in doc.splitlines():
        m = LINE.match(line)
        if not m or not line.startswith("    "):
            continue
        depth = len(m.group("indent"))
        while stack and stack[-1][0] >= depth:
            stack.pop()
        parents[m.group("name")] = stack[-1][1] if stack else None
        stack.append((depth, m.group("name")))
    return parents


def code_tree() -> dict[str, str | None]:
    """Every subclass of WithinError in the package -> its base (WithinError -> None)."""
    for info in pkgutil.walk_packages(within_daemon.__path__, "within_daemon."):
        if ".sandbox" not in info.name and not info.name.endswith("__main__"):
            importlib.import_module(info.name)
    out: dict[str, str | None] = {"WithinError": None}
    todo = [WithinError]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub.__module__.startswith("within_daemon."):
                out[sub.__name__] = cls.__name__
                todo.append(sub)
    return out


def test_drawing_parser_reads_depth() -> None:
    """The parser hangs each drawn class under the nearest shallower one."""
    tree = drawn_tree()
    assert tree["WithinError"] is None
    assert tree["ConfigError"] == "WithinError"
    assert tree["ThrottledError"] == "TransientError"


def test_drawn_tree_matches_the_classes() -> None:
    """Every error class of the package is drawn, under its real base, and nothing else is."""
    assert drawn_tree() == code_tree()


def test_each_class_says_if_it_is_retriable() -> None:
    """Every class in the tree answers ``retriable`` (a class attribute, no table of types)."""
    code_tree()  # imports every module, so that subclasses defined outside errors.py count
    todo: list[type[WithinError]] = [WithinError]
    while todo:
        cls = todo.pop()
        assert isinstance(cls.retriable, bool), cls
        todo.extend(cls.__subclasses__())
