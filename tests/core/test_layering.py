"""The package's layers: the core never imports pytest; no module imports itself back.

Both tests look at the whole package as it is on disk, not at a fixed list, so a new
module is checked the day it is added.
"""

from __future__ import annotations

import ast
import fnmatch
import itertools
import json
import pkgutil
import subprocess
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest_runcompare

#: The pytest layer: the only modules of the package allowed to import pytest (the
#: patterns are :mod:`fnmatch` patterns over dotted module names). Every other module
#: of the package is the core, usable without pytest. ``pyproject.toml``'s ruff
#: per-file-ignores (TID251) say the same for the linter.
PYTEST_LAYER = (
    "pytest_runcompare.plugin",
    "pytest_runcompare.plugin.*",  # a plugin/ subpackage, should plugin.py become one
    "pytest_runcompare.session",
    "pytest_runcompare.settings",
    "pytest_runcompare.collection",
    "pytest_runcompare.finish",
    "pytest_runcompare.unjudged",  # why a pytest session judged nothing
    "pytest_runcompare.pytest_html_extras",
)

PACKAGE = pytest_runcompare.__name__
PACKAGE_DIR = Path(pytest_runcompare.__file__).resolve().parent


# ------------------------------------------------------- the core imports no pytest


def in_pytest_layer(module: str) -> bool:
    return any(fnmatch.fnmatchcase(module, pattern) for pattern in PYTEST_LAYER)


def package_modules() -> list[str]:
    """Every module and subpackage of the package, the package itself first."""
    broken: list[str] = []
    found = [
        info.name
        for info in pkgutil.walk_packages(
            pytest_runcompare.__path__, PACKAGE + ".", onerror=broken.append
        )
    ]
    # walk_packages imports subpackages to list them, and skips one that fails.
    assert not broken, f"subpackages that failed to import while listing: {broken}"
    return [PACKAGE, *found]


#: Run in a fresh interpreter: import the modules named in argv[1] one by one and
#: report, as JSON on the last line, the first module after whose import pytest was
#: loaded, the import chain that loaded it (the package modules executing then, and
#: the pytest module asked for), the modules skipped for a missing optional
#: dependency, and every pytest module loaded in the end.
PROBE = r"""
import importlib, importlib.util, json, sys

PACKAGE = sys.argv[2]
modules = json.loads(sys.argv[1])
out = {"preloaded": sorted(m for m in sys.modules if m.split(".")[0] in ("pytest", "_pytest")),
       "culprit": None, "chain": [], "skipped": {}, "pytest_modules": []}


class Spy:
    # Sees every import of pytest before the real finders do; finds nothing itself.
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("pytest", "_pytest") and not out["chain"]:
            frame, chain = sys._getframe(1), []
            while frame is not None:
                mod = frame.f_globals.get("__name__", "")
                if (mod == PACKAGE or mod.startswith(PACKAGE + ".")) and mod not in chain:
                    chain.append(mod)
                frame = frame.f_back
            out["chain"] = [*chain[::-1], name]
        return None


sys.meta_path.insert(0, Spy())
for module in modules:
    try:
        importlib.import_module(module)
    except ImportError as exc:
        top = (exc.name or "").split(".")[0]
        if top and top != PACKAGE.split(".")[0] and importlib.util.find_spec(top) is None:
            out["skipped"][module] = f"{type(exc).__name__}: {exc}"
        else:
            raise
    if out["culprit"] is None and any(
        m.split(".")[0] in ("pytest", "_pytest") for m in sys.modules
    ):
        out["culprit"] = module
out["pytest_modules"] = sorted(
    m for m in sys.modules if m.split(".")[0] in ("pytest", "_pytest")
)
print(json.dumps(out))
"""


def probe(modules: list[str]) -> dict:
    """Import ``modules`` in one fresh interpreter; what :data:`PROBE` reports."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(modules), PACKAGE],
        capture_output=True,
        text=True,
        cwd=PACKAGE_DIR.parent,
        check=False,
    )
    assert done.returncode == 0, (
        f"importing the core modules failed:\n{done.stderr[-4000:]}"
    )
    return json.loads(done.stdout.splitlines()[-1])


def test_core_modules_never_import_pytest() -> None:
    """Import every core module in one fresh interpreter: neither pytest nor _pytest.

    The modules are listed with ``pkgutil.walk_packages`` (a new module is covered
    without editing this test); :data:`PYTEST_LAYER` is left out. When pytest turns
    up, the message names the module whose import loaded it and the chain of package
    modules that were executing; the probe then continues in a fresh interpreter
    with the modules after it, so every offender is named in one run. A module that
    fails on an optional third-party library is skipped only when that library is
    not installed.
    """
    core = [m for m in package_modules() if not in_pytest_layer(m)]
    assert len(core) > 10, core  # the listing did find the package
    offenders: list[str] = []
    skipped: dict[str, str] = {}
    todo = core
    while todo:
        report = probe(todo)
        assert not report["preloaded"], (
            f"pytest is loaded before any package import: {report['preloaded']}"
        )
        skipped.update(report["skipped"])
        culprit = report["culprit"]
        if culprit is None:
            assert not report["pytest_modules"], report
            break
        offenders.append(
            f"importing {culprit} loads pytest: {' -> '.join(report['chain'])}"
        )
        todo = todo[todo.index(culprit) + 1 :]
    # A skip is never silent: printed here, and listed with any failure.
    notes = [f"skipped {module}: {why}" for module, why in skipped.items()]
    print(*notes, sep="\n")
    assert not offenders, (
        "core modules (outside PYTEST_LAYER) that load pytest:\n  "
        + "\n  ".join(offenders + notes)
    )


# ------------------------------------------------------------ no import cycles


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    file: str  # relative to the package's parent directory
    line: int
    deferred: bool  # inside a function: runs when called, not at import

    def where(self) -> str:
        return f"{self.file}:{self.line}" + (
            " (in a function)" if self.deferred else ""
        )


def module_files() -> dict[str, Path]:
    """Dotted module name -> source file, for every ``.py`` file of the package."""
    out: dict[str, Path] = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE_DIR).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join([PACKAGE, *parts])] = path
    return out


def is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def runtime_imports(
    tree: ast.AST, deferred: bool = False
) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement that can execute, and whether it is inside a function.

    The body of ``if TYPE_CHECKING:`` never runs (its ``else`` does); the body of
    ``if not TYPE_CHECKING:`` does (its ``else`` does not).
    """
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, deferred
        elif isinstance(node, ast.If) and is_type_checking(node.test):
            for child in node.orelse:
                yield from runtime_imports(ast.Module([child], []), deferred)
        elif (
            isinstance(node, ast.If)
            and isinstance(node.test, ast.UnaryOp)
            and isinstance(node.test.op, ast.Not)
            and is_type_checking(node.test.operand)
        ):
            for child in node.body:
                yield from runtime_imports(ast.Module([child], []), deferred)
        else:
            inner = deferred or isinstance(
                node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
            )
            yield from runtime_imports(node, inner)


def import_edges(files: dict[str, Path]) -> list[Edge]:
    """The package modules each module imports (see the cycle test for the rules)."""
    known = set(files)
    edges: list[Edge] = []
    for module, path in files.items():
        if module == PACKAGE:
            continue  # the lazy public API re-exports: the top of the graph by design
        is_package = path.name == "__init__.py"
        file = path.relative_to(PACKAGE_DIR.parent).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node, deferred in runtime_imports(tree):
            targets: Iterable[str]
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                if node.level:
                    base = module.split(".")
                    if not is_package:
                        base = base[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    origin = ".".join(base + ([node.module] if node.module else []))
                else:
                    origin = node.module or ""
                targets = [
                    f"{origin}.{alias.name}"
                    if f"{origin}.{alias.name}" in known
                    else origin
                    for alias in node.names
                ]
            for target in targets:
                if target in known and target != module:
                    edges.append(Edge(module, target, file, node.lineno, deferred))
    return edges


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components, iteratively (no recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                out.append(sorted(component))
    return out


def shortest_cycle(
    graph: dict[str, set[str]], start: str, members: set[str]
) -> list[str]:
    """The shortest path ``start -> ... -> start`` inside one component (BFS)."""
    previous: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for child in sorted(graph[node] & members):
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return [*path[::-1], start]
            if child not in previous:
                previous[child] = node
                queue.append(child)
    raise AssertionError(f"{start} is on no cycle of its component")


def import_cycles(edges: list[Edge]) -> list[tuple[list[str], list[list[str]]]]:
    """Each component with a cycle: its members and the shortest cycle through each."""
    graph: dict[str, set[str]] = {}
    for edge in edges:
        graph.setdefault(edge.source, set()).add(edge.target)
        graph.setdefault(edge.target, set())
    out = []
    for component in strongly_connected(graph):
        if len(component) < 2:
            continue  # self-imports are left out of the edges
        members = set(component)
        cycles: list[list[str]] = []
        for start in component:
            cycle = shortest_cycle(graph, start, members)
            ring = cycle[:-1]
            turn = ring.index(min(ring))
            canonical = [*ring[turn:], *ring[:turn], ring[turn]]
            if canonical not in cycles:
                cycles.append(canonical)
        out.append((component, cycles))
    return out


def test_package_has_no_import_cycles() -> None:
    """No package module imports, directly or through others, a module importing it.

    Every ``.py`` file of the package is parsed with :mod:`ast` (nothing is imported)
    and each import of a package module is an edge of the module graph:

    - at module level and inside functions alike (a deferred import is still a
      dependency; it is marked "in a function" in the message), including relative
      imports; imports under ``if TYPE_CHECKING:`` are left out: they never run;
    - ``import pytest_runcompare.a.b`` depends on exactly ``pytest_runcompare.a.b``
      (not also on the ``pytest_runcompare.a`` package it initialises);
      ``from pkg import name`` depends on ``pkg.name`` when that is a module of
      the package, else on ``pkg``;
    - edges out of ``pytest_runcompare/__init__.py`` are ignored: its lazy PEP 562
      ``__getattr__`` re-exports the public API, so by design it sits on top of
      the graph (modules may import it; it imports nobody at import time).
      ``__init__.py`` files of subpackages count like any module. Dynamic imports
      (``importlib.import_module`` with a string) are not seen.

    The strongly connected components of that graph (Tarjan) are the cycles; for
    each one the message lists the shortest cycle through each member, as
    ``a -> b -> a``, with the line of each import.
    """
    files = module_files()
    assert len(files) > 10, files
    edges = import_edges(files)
    # One import per edge to show: the first at module level, else the first.
    where: dict[tuple[str, str], Edge] = {}
    for edge in edges:
        shown = where.get((edge.source, edge.target))
        if shown is None or (shown.deferred and not edge.deferred):
            where[edge.source, edge.target] = edge
    lines = []
    for component, cycles in import_cycles(edges):
        lines.append(
            f"{len(component)} modules import each other: {', '.join(component)}"
        )
        for cycle in cycles:
            steps = [where[pair].where() for pair in itertools.pairwise(cycle)]
            lines.append(f"  {' -> '.join(cycle)}")
            lines.append(f"      ({'; '.join(steps)})")
    assert not lines, "import cycles in the package:\n" + "\n".join(lines)
