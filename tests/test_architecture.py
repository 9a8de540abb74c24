"""The shape of the code: how mixai/ and plugin_bridge/ modules lean on each other.

Read with :mod:`ast` from the source files; nothing is imported. Three rules:

* **No import cycles between modules.** Every import counts, also those inside functions (a lazy
  import is still a dependency) and the implicit import of a package's ``__init__`` when a module
  of a *foreign* package is imported (``from mixai.dsp.loudness import x`` runs
  ``mixai/dsp/__init__.py`` too; a module's own enclosing packages are already being imported).
* **Modules meet through public names.** No ``from x import _y`` and no ``x._y`` on an imported
  project module. A name another module needs is made public where it lives (or the code moves).
* **Small modules.** None over :data:`MAX_LINES` lines without a reason written down here.

No module is exempt from the first two rules (``mixai/training/`` had a temporary exemption while
it was reshaped; it is gone).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("mixai", "plugin_bridge")
MAX_LINES = 500

# Modules allowed over MAX_LINES (paths relative to the repository), each with its reason.
LONG_MODULES: dict[str, str] = {}


@dataclass(frozen=True)
class Finding:
    module: str
    line: int
    target: str  # the module imported, or the dotted private name reached for

    def __str__(self) -> str:
        return f"{self.module}:{self.line} -> {self.target}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "__pycache__" not in path.parts:
                found[_module_name(path)] = path
    return found


SOURCES = _sources()
MODULES = frozenset(SOURCES)


def _is_package(module: str) -> bool:
    return module in SOURCES and SOURCES[module].name == "__init__.py"


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _known_prefix(dotted: str) -> str | None:
    """The longest leading part of ``dotted`` that is a project module."""
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in MODULES:
            return candidate
    return None


def _ancestors(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:end]) for end in range(1, len(parts))]


class _Reader(ast.NodeVisitor):
    """Collects one module's imports (edges), its private-name imports and the names bound to
    project modules (for ``module._name`` attribute access)."""

    def __init__(self, module: str) -> None:
        self.module = module
        self.package = module if _is_package(module) else module.rpartition(".")[0]
        self.edges: list[Finding] = []
        self.private: list[Finding] = []
        self.bound: dict[str, str] = {}  # local name -> project module
        self.attributes: list[tuple[int, list[str]]] = []

    def _edge(self, target: str, line: int) -> None:
        self.edges.append(Finding(self.module, line, target))
        own = set(_ancestors(self.module)) | {self.module}
        for ancestor in _ancestors(target):  # a foreign package's __init__ runs first
            if ancestor in MODULES and ancestor not in own:
                self.edges.append(Finding(self.module, line, ancestor))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            target = _known_prefix(alias.name)
            if target is None:
                continue
            self._edge(target, node.lineno)
            if any(_private(part) for part in alias.name.split(".")):
                self.private.append(Finding(self.module, node.lineno, alias.name))
            if alias.asname:
                self.bound[alias.asname] = target
            else:
                top = alias.name.split(".")[0]
                self.bound[top] = top

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = self.package.split(".")
            base = base[:len(base) - (node.level - 1)]
            source = ".".join(base + ([node.module] if node.module else []))
        else:
            source = node.module or ""
        if _known_prefix(source) is None:
            return
        for alias in node.names:
            full = f"{source}.{alias.name}"
            if full in MODULES:
                self._edge(full, node.lineno)
                self.bound[alias.asname or alias.name] = full
            else:
                self._edge(_known_prefix(source), node.lineno)  # type: ignore[arg-type]
            if _private(alias.name) or any(_private(p) for p in source.split(".")):
                self.private.append(Finding(self.module, node.lineno, full))

    def visit_Attribute(self, node: ast.Attribute) -> None:
        chain: list[str] = []
        current: ast.AST = node
        while isinstance(current, ast.Attribute):
            chain.append(current.attr)
            current = current.value
        if isinstance(current, ast.Name):
            self.attributes.append((node.lineno, [current.id, *reversed(chain)]))
            return  # the inner Attribute nodes are part of this chain
        self.generic_visit(node)

    def private_attributes(self) -> list[Finding]:
        found = []
        for line, (name, *parts) in self.attributes:
            module = self.bound.get(name)
            if module is None:
                continue
            for part in parts:
                if _private(part):
                    found.append(Finding(self.module, line, f"{module}.{part}"))
                    break
                if f"{module}.{part}" not in MODULES:
                    break
                module = f"{module}.{part}"
        return found


def _read_all() -> dict[str, _Reader]:
    readers = {}
    for module, path in SOURCES.items():
        reader = _Reader(module)
        reader.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        readers[module] = reader
    return readers


READERS = _read_all()


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), or a self-import."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for reader in READERS.values():
        for edge in reader.edges:
            if edge.target != edge.module:
                graph[edge.module].add(edge.target)
    return graph


def test_the_reader_sees_the_whole_project():
    assert "mixai" in MODULES and "plugin_bridge" in MODULES and len(MODULES) > 40
    assert sum(len(r.edges) for r in READERS.values()) > 100


def test_no_import_cycles():
    cycles = _cycles(_graph())
    assert not cycles, "import cycles between modules:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_no_private_names_across_modules():
    found = []
    for reader in READERS.values():
        found += reader.private + reader.private_attributes()
    assert not found, ("modules reaching into another module's underscored names (make the name "
                       "public where it lives):\n" + "\n".join(map(str, found)))


def test_modules_are_small():
    too_long = []
    for module, path in SOURCES.items():
        relative = path.relative_to(ROOT).as_posix()
        if relative in LONG_MODULES:
            continue
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            too_long.append(f"{relative}: {lines} lines")
    assert not too_long, (f"modules over {MAX_LINES} lines without a stated reason (split them, or "
                          "say why in LONG_MODULES):\n" + "\n".join(too_long))


def test_long_module_reasons_are_still_needed():
    """A stated reason for a long module goes when the module is split (it cannot go stale)."""
    stale = [relative for relative in LONG_MODULES if not (ROOT / relative).is_file()
             or len((ROOT / relative).read_text(encoding="utf-8").splitlines()) <= MAX_LINES]
    assert not stale, f"LONG_MODULES entries no longer needed: {stale}"


@pytest.mark.parametrize("source, expected", [
    ("from mixai.dsp.loudness import _secret\n", ["mixai.dsp.loudness._secret"]),
    ("from mixai.dsp import loudness\nloudness._secret(1)\n", ["mixai.dsp.loudness._secret"]),
    ("import mixai.dsp.loudness\nmixai.dsp.loudness._secret\n", ["mixai.dsp.loudness._secret"]),
    ("import mixai.dsp.loudness as ld\nld.k_weighting_sos, ld.__name__\n", []),
    ("from mixai.dsp.loudness import k_weighting_sos as _private_alias\n", []),
])
def test_the_private_name_rule_itself(source, expected):
    """The checker catches the three ways of reaching in, and lets public names and dunders pass."""
    if "mixai.dsp.loudness" not in MODULES:
        pytest.skip("mixai.dsp.loudness is not in this tree")
    reader = _Reader("mixai.example")
    reader.visit(ast.parse(source))
    assert [f.target for f in reader.private + reader.private_attributes()] == expected


def test_the_cycle_rule_itself():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert _cycles(graph) == [["a", "b", "c"], ["e"]]


def test_every_package_is_installed():
    """pyproject.toml lists every package folder (a regular install ships only those) and the
    entry points name functions that exist."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    packages = {m for m in MODULES if _is_package(m)}
    assert packages - listed == set(), f"package folders missing from pyproject.toml: {sorted(packages - listed)}"
    for script, target in config["project"]["scripts"].items():
        module, _, function = target.partition(":")
        assert module in MODULES, f"{script}: no module {module}"
        tree = ast.parse(SOURCES[module].read_text(encoding="utf-8"))
        defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        imported = {a.asname or a.name for n in tree.body if isinstance(n, ast.ImportFrom) for a in n.names}
        assert function in defined | imported, f"{script}: {target} does not exist"
