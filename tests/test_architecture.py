"""Import direction between layers, checked statically with ``ast`` over every module."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

import within_daemon

PKG_DIR = Path(within_daemon.__file__).resolve().parent
PKG = "within_daemon"

#: The entry points: only these may import the CLI or the daemon loop.
ENTRY_POINTS = {f"{PKG}.cli", f"{PKG}.daemon", f"{PKG}.service", f"{PKG}.demo", f"{PKG}.__main__"}


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    tree: ast.Module
    is_package: bool


def module_name(path: Path) -> tuple[str, bool]:
    rel = path.relative_to(PKG_DIR.parent).with_suffix("")
    parts = list(rel.parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts.pop()
    return ".".join(parts), is_package


def load_modules() -> list[Module]:
    out = []
    for path in sorted(PKG_DIR.rglob("*.py")):
        name, is_package = module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        out.append(Module(name, path, tree, is_package))
    return out


MODULES = load_modules()


def imports_of(mod: Module) -> set[str]:
    """Every absolute module name a module imports, anywhere in its body.

    ``from X import y`` yields both ``X`` and ``X.y`` (``y`` may be a submodule), and
    relative imports are resolved against the module's package.
    """
    package = mod.name if mod.is_package else mod.name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(mod.tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                if node.level - 1 > len(parts) - 1:
                    raise AssertionError(f"{mod.name}: relative import beyond the package")
                base_parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def is_under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def violations(source_prefix: str, forbidden: list[str]) -> list[str]:
    bad = []
    for mod in MODULES:
        if not is_under(mod.name, source_prefix):
            continue
        for imp in sorted(imports_of(mod)):
            if any(is_under(imp, f) for f in forbidden):
                bad.append(f"{mod.name} imports {imp}")
    return bad


# -- the checker itself ----------------------------------------------------------------------


def test_all_modules_found() -> None:
    """The walk sees the whole package, including subpackages and __main__."""
    names = {m.name for m in MODULES}
    assert {PKG, f"{PKG}.cli", f"{PKG}.__main__", f"{PKG}.transforms",
            f"{PKG}.runtime", f"{PKG}.sources.breaker"} <= names
    assert len(MODULES) >= 20


def test_import_resolver_handles_relative_and_from_imports() -> None:
    """Relative imports resolve to absolute names, and `from pkg import mod` counts mod."""
    src = (
        "from .. import cli\n"
        "from ..sources.facebook import FacebookAdsConnector\n"
        "from . import helper\n"
        "import within_daemon.loaders as L\n"
        "def f():\n"
        "    from within_daemon import daemon\n"
    )
    mod = Module(f"{PKG}.transforms.thing", Path("x.py"), ast.parse(src), is_package=False)
    got = imports_of(mod)
    assert f"{PKG}.cli" in got
    assert f"{PKG}.sources.facebook" in got
    assert f"{PKG}.transforms.helper" in got
    assert f"{PKG}.loaders" in got
    assert f"{PKG}.daemon" in got
    pkg = Module(f"{PKG}.runtime", Path("x.py"), ast.parse("from .actors import A\n"), True)
    assert f"{PKG}.runtime.actors" in imports_of(pkg)
    assert not is_under(f"{PKG}.client", f"{PKG}.cli")


# -- the rules -------------------------------------------------------------------------------


def test_only_entry_points_import_cli_or_daemon() -> None:
    """Only the entry points (cli, daemon, service, demo, __main__) import cli or daemon."""
    bad = []
    for mod in MODULES:
        if mod.name in ENTRY_POINTS:
            continue
        for imp in sorted(imports_of(mod)):
            if is_under(imp, f"{PKG}.cli") or is_under(imp, f"{PKG}.daemon"):
                bad.append(f"{mod.name} imports {imp}")
    assert bad == []


def test_transforms_do_not_import_sources_or_loaders() -> None:
    """within_daemon.transforms is pure: it never imports sources or loaders."""
    assert violations(f"{PKG}.transforms", [f"{PKG}.sources", f"{PKG}.loaders"]) == []


def test_runtime_does_not_import_higher_layers() -> None:
    """within_daemon.runtime never imports pipelines, sources, transforms or loaders."""
    forbidden = [f"{PKG}.{p}" for p in ("pipelines", "sources", "transforms", "loaders")]
    assert violations(f"{PKG}.runtime", forbidden) == []


@pytest.mark.parametrize("mod", MODULES, ids=lambda m: m.name)
def test_every_module_has_a_docstring(mod: Module) -> None:
    """Every module under within_daemon/ opens with a non-empty docstring."""
    doc = ast.get_docstring(mod.tree)
    assert doc and doc.strip(), f"{mod.path} has no module docstring"
