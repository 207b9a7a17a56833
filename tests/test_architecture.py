"""Import direction between layers and import cycles, checked with ``ast`` over every module.

The layers (see ``docs/architecture.md``): ``cli → daemon → pipelines → {sources, transforms,
loaders, tasks} → runtime, config, errors, observability``. A cycle is any group of modules
that import each other, directly or around a circle, counting imports inside functions
(a deferred import hides a cycle from Python, not from a reader).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

import within_daemon

PKG_DIR = Path(within_daemon.__file__).resolve().parent
PKG = "within_daemon"

#: The entry points: only these (and the daemon package itself) import the CLI or the daemon.
ENTRY_POINTS = {f"{PKG}.cli", f"{PKG}.demo", f"{PKG}.__main__"}

#: Cycles the package still has, each a set of modules (without the package prefix). This
#: list may only shrink: the test fails on any other cycle, on a known one that grows, and
#: on a known one that is gone (delete its entry then).
KNOWN_CYCLES: list[frozenset[str]] = []


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


def base_of(mod: Module, node: ast.ImportFrom) -> str:
    """The absolute module a ``from ... import`` reads from (relative ones resolved)."""
    if not node.level:
        return node.module or ""
    package = mod.name if mod.is_package else mod.name.rpartition(".")[0]
    parts = package.split(".")
    if node.level - 1 > len(parts) - 1:
        raise AssertionError(f"{mod.name}: relative import beyond the package")
    base_parts = parts[: len(parts) - (node.level - 1)]
    return ".".join(base_parts + ([node.module] if node.module else []))


def imports_of(mod: Module) -> set[str]:
    """Every absolute module name a module imports, anywhere in its body.

    ``from X import y`` yields both ``X`` and ``X.y`` (``y`` may be a submodule), and
    relative imports are resolved against the module's package.
    """
    found: set[str] = set()
    for node in ast.walk(mod.tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = base_of(mod, node)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def module_edges(mod: Module, known: set[str]) -> set[str]:
    """The package modules ``mod`` imports, anywhere in its body, each resolved to a module.

    ``from pkg import sub`` is an edge to ``pkg.sub`` when that is a module, else (a name
    defined in ``pkg``) to ``pkg``; ``from pkg.mod import name`` an edge to ``pkg.mod``.
    """

    def owner(name: str) -> str:
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name

    out: set[str] = set()
    for node in ast.walk(mod.tree):
        if isinstance(node, ast.Import):
            out.update(owner(alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = base_of(mod, node)
            out.update(owner(f"{base}.{alias.name}") for alias in node.names)
    return out - {"", mod.name}


def import_cycles(modules: list[Module]) -> list[frozenset[str]]:
    """Strongly connected groups of two or more modules in the import graph (Tarjan)."""
    known = {m.name for m in modules}
    graph = {m.name: module_edges(m, known) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(frozenset(g.removeprefix(PKG + ".") for g in group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


#: Underscore names still imported from another module: (importer, module) -> names. This
#: may only shrink; it is empty now (issue 14, items 3 and 5): the test fails on any.
KNOWN_PRIVATE_IMPORTS: dict[tuple[str, str], set[str]] = {
}


def private_imports(modules: list[Module]) -> dict[tuple[str, str], set[str]]:
    """``from x import _y`` (and ``x._y`` on an imported module) across package modules."""
    known = {m.name for m in modules}
    out: dict[tuple[str, str], set[str]] = {}

    def note(importer: str, source: str, name: str) -> None:
        if source != importer and name.startswith("_") and not name.startswith("__"):
            key = (importer.removeprefix(PKG + "."), source.removeprefix(PKG + "."))
            out.setdefault(key, set()).add(name)

    for mod in modules:
        aliases: dict[str, str] = {}
        for node in ast.walk(mod.tree):
            if isinstance(node, ast.ImportFrom):
                base = base_of(mod, node)
                for alias in node.names:
                    if f"{base}.{alias.name}" in known:
                        aliases[alias.asname or alias.name] = f"{base}.{alias.name}"
                    elif base in known:
                        note(mod.name, base, alias.name)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in known and alias.asname:
                        aliases[alias.asname] = alias.name
        for node in ast.walk(mod.tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in aliases):
                note(mod.name, aliases[node.value.id], node.attr)
    return out


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
            f"{PKG}.runtime", f"{PKG}.sources.http.breaker"} <= names
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


def test_cycle_finder_sees_direct_and_deferred_cycles() -> None:
    """Two modules importing each other, one of them inside a function, form a cycle."""
    a = Module(f"{PKG}.x.a", Path("a.py"), ast.parse("from .b import f\n"), False)
    b = Module(f"{PKG}.x.b", Path("b.py"), ast.parse("def f():\n    from . import a\n"), False)
    c = Module(f"{PKG}.x.c", Path("c.py"), ast.parse("from .a import g\n"), False)
    pkg = Module(f"{PKG}.x", Path("i.py"), ast.parse("from .c import g\n"), True)
    assert import_cycles([a, b, c, pkg]) == [frozenset({"x.a", "x.b"})]


# -- the rules -------------------------------------------------------------------------------


def test_no_import_cycles_beyond_the_known_ones() -> None:
    """No module imports itself around a circle, except the listed cycles (which only shrink)."""
    cycles = import_cycles(MODULES)
    new = [sorted(c) for c in cycles if not any(c <= k for k in KNOWN_CYCLES)]
    gone = [sorted(k) for k in KNOWN_CYCLES if not any(c == k for c in cycles)]
    assert new == [], f"import cycles: {new}"
    assert gone == [], f"known cycles that changed or are gone (update KNOWN_CYCLES): {gone}"


def test_no_private_imports_across_modules_beyond_the_known_ones() -> None:
    """Underscore names stay in their module, except the listed ones (which only shrink)."""
    found = private_imports(MODULES)
    new = {k: sorted(v - KNOWN_PRIVATE_IMPORTS.get(k, set())) for k, v in found.items()}
    assert {k: v for k, v in new.items() if v} == {}
    gone = {k: sorted(v - found.get(k, set())) for k, v in KNOWN_PRIVATE_IMPORTS.items()}
    assert {k: v for k, v in gone.items() if v} == {}, "remove these from KNOWN_PRIVATE_IMPORTS"


def test_private_import_finder_sees_from_imports_and_attributes() -> None:
    """`from .m import _x` and `m._y` on an imported module both count; `__all__` does not."""
    a = Module(f"{PKG}.x.a", Path("a.py"), ast.parse(
        "from .m import _x, ok\nfrom . import m\nm._y\nm.__doc__\n"), False)
    m = Module(f"{PKG}.x.m", Path("m.py"), ast.parse("_x = 1\n"), False)
    assert private_imports([a, m]) == {("x.a", "x.m"): {"_x", "_y"}}


def test_only_entry_points_import_cli_or_daemon() -> None:
    """Only the entry points (cli, demo, __main__) and the daemon package import cli or daemon."""
    bad = []
    for mod in MODULES:
        if mod.name in ENTRY_POINTS or is_under(mod.name, f"{PKG}.daemon"):
            continue
        for imp in sorted(imports_of(mod)):
            if is_under(imp, f"{PKG}.cli") or is_under(imp, f"{PKG}.daemon"):
                bad.append(f"{mod.name} imports {imp}")
    assert bad == []


def test_transforms_do_not_import_sources_or_loaders() -> None:
    """within_daemon.transforms is pure: it never imports sources or loaders."""
    assert violations(f"{PKG}.transforms", [f"{PKG}.sources", f"{PKG}.loaders"]) == []


def test_the_daemon_package_does_not_import_the_cli() -> None:
    """within_daemon.daemon is below the CLI: it never imports cli or demo."""
    assert violations(f"{PKG}.daemon", [f"{PKG}.cli", f"{PKG}.demo"]) == []


@pytest.mark.parametrize("layer", ["sources", "transforms", "loaders", "tasks", "runtime",
                                   "observability", "sandbox"])
def test_lower_layers_do_not_import_pipelines(layer: str) -> None:
    """A layer below the wiring never imports pipelines, daemon, cli or demo."""
    assert violations(f"{PKG}.{layer}", [f"{PKG}.pipelines", f"{PKG}.daemon", f"{PKG}.cli",
                                         f"{PKG}.demo"]) == []


def test_sources_and_loaders_do_not_import_each_other() -> None:
    """A connector never writes to the database and a loader never calls an API."""
    assert violations(f"{PKG}.sources", [f"{PKG}.loaders"]) == []
    assert violations(f"{PKG}.loaders", [f"{PKG}.sources"]) == []


#: loaders/ in three layers: the tables (schema/), the data access on them, and the stores on top.
LOADERS_DATA_ACCESS = ("database", "connection", "backends", "rows", "statements", "isolate",
                       "refusals", "rollups")
LOADERS_STORES = ("analytics", "audience", "image_failures", "feature_store", "model_store")


def test_the_loaders_schema_imports_no_data_access() -> None:
    """loaders.schema (tables, migrations) imports nothing else of loaders/."""
    others = [f"{PKG}.loaders.{m}" for m in (*LOADERS_DATA_ACCESS, *LOADERS_STORES)]
    assert set(others) <= {m.name for m in MODULES}, "a listed loaders module is gone"
    assert violations(f"{PKG}.loaders.schema", others) == []


@pytest.mark.parametrize("module", LOADERS_DATA_ACCESS)
def test_the_loaders_data_access_does_not_import_the_stores(module: str) -> None:
    """The database loader and its drivers stand below the stores built on them."""
    stores = [f"{PKG}.loaders.{m}" for m in LOADERS_STORES]
    assert violations(f"{PKG}.loaders.{module}", stores) == []


@pytest.mark.parametrize("package", ["loaders.feature_store", "pipelines.training"])
def test_packages_keep_their_parts_inside(package: str) -> None:
    """Outside these packages, code imports the package (its exports), never a module in it."""
    known = {m.name for m in MODULES}
    inside = f"{PKG}.{package}"
    assert inside in known
    bad = [f"{mod.name} imports {edge}" for mod in MODULES if not is_under(mod.name, inside)
           for edge in sorted(module_edges(mod, known)) if edge.startswith(inside + ".")]
    assert bad == []


def test_the_sandbox_does_not_import_what_it_emulates_for() -> None:
    """The emulators stand alone: no sources, transforms or loaders (they are the far side)."""
    forbidden = [f"{PKG}.{p}" for p in ("sources", "transforms", "loaders")]
    assert violations(f"{PKG}.sandbox", forbidden) == []


API_PLATFORMS = ("facebook", "google", "amazon", "tiktok")


@pytest.mark.parametrize("layer", ["sources", "sandbox"])
def test_platform_packages_do_not_import_each_other(layer: str) -> None:
    """One package per platform: sources/<p>/ and sandbox/<p>/ never reach into another's."""
    bad = []
    for p in API_PLATFORMS:
        others = [f"{PKG}.{layer}.{q}" for q in API_PLATFORMS if q != p]
        bad += violations(f"{PKG}.{layer}.{p}", others)
    assert bad == []


def test_platform_connectors_do_not_import_the_registry() -> None:
    """The connector registry imports every platform's package, never the other way round.

    A platform that imported the registry could register itself when imported; the table
    in ``sources/registry.py`` is the one place a platform gets its connector.
    """
    bad = []
    for p in API_PLATFORMS:
        bad += violations(f"{PKG}.sources.{p}", [f"{PKG}.sources.registry"])
    assert bad == []


def test_platform_normalizers_stand_alone() -> None:
    """A platform's normalizer imports neither another platform's nor the normalizer itself.

    The registry imports them all, and ``DataNormalizer`` reads the registry; a platform
    module that imported either would close a circle (and registration by import is gone).
    """
    norm = f"{PKG}.transforms.normalize"
    names = (*API_PLATFORMS, "internal")
    bad = []
    for p in names:
        others = [f"{norm}.{q}" for q in (*names, "normalizer", "registry") if q != p]
        bad += violations(f"{norm}.{p}", others)
    assert bad == []


def test_runtime_does_not_import_higher_layers() -> None:
    """within_daemon.runtime never imports pipelines, sources, transforms or loaders."""
    forbidden = [f"{PKG}.{p}" for p in ("pipelines", "sources", "transforms", "loaders")]
    assert violations(f"{PKG}.runtime", forbidden) == []


@pytest.mark.parametrize("mod", MODULES, ids=lambda m: m.name)
def test_every_module_has_a_docstring(mod: Module) -> None:
    """Every module under within_daemon/ opens with a non-empty docstring."""
    doc = ast.get_docstring(mod.tree)
    assert doc and doc.strip(), f"{mod.path} has no module docstring"
