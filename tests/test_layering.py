"""The package graph: no package imports another that imports it back, and every import goes down the
layers the README documents.

The layers are read from the README itself (the line that starts with `Layers:`), so the documented
order and the enforced one are the same text. Every import counts: at module level, inside functions,
and under `TYPE_CHECKING`, because each of them is a dependency a reader has to know about.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "src" / "blink_api"
PACKAGE = "blink_api"


def documented_layers(readme: Path = ROOT / "README.md") -> list[set[str]]:
    """`Layers: a → b, c → d` as [{a}, {b, c}, {d}]: a unit may import only units of earlier layers."""
    for line in readme.read_text(encoding="utf-8").splitlines():
        text = line.strip().strip("`")
        if text.startswith("Layers:"):
            chain = text.removeprefix("Layers:")
            return [{name.strip() for name in layer.split(",")} for layer in chain.split("→")]
    raise AssertionError("README.md has no line starting with `Layers:`")


def units(source: Path = SOURCE) -> set[str]:
    """The units of the graph: each subpackage and each top-level module (but the package's own
    `__init__`, which only names the version)."""
    found = {p.name for p in source.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    found |= {p.stem for p in source.glob("*.py") if p.stem != "__init__"}
    return found


def _unit_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != PACKAGE or len(parts) < 2:
        return None
    return parts[1]


def _imported_modules(path: Path, source: Path) -> set[str]:
    """Absolute names of every module `path` imports (relative imports resolved)."""
    here = [PACKAGE, *path.relative_to(source).parent.parts]  # the package the module is in
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            names.add(module)
            # `from blink_api import tickets` imports the unit `tickets`.
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def package_graph(source: Path = SOURCE) -> dict[str, dict[str, set[str]]]:
    """unit → {imported unit → the files that import it}."""
    graph: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    known = units(source)
    for path in sorted(source.rglob("*.py")):
        rel = path.relative_to(source)
        unit = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        if unit == "__init__":
            continue
        for module in _imported_modules(path, source):
            target = _unit_of(module)
            if target in known and target != unit:
                graph[unit][target].add(str(rel))
    return graph


def cycles(graph: dict[str, dict[str, set[str]]]) -> list[list[str]]:
    """Every strongly connected group of more than one unit (each one is a cycle), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(unit: str) -> None:
        index[unit] = low[unit] = len(index)
        stack.append(unit)
        on_stack.add(unit)
        for target in graph.get(unit, {}):
            if target not in index:
                visit(target)
                low[unit] = min(low[unit], low[target])
            elif target in on_stack:
                low[unit] = min(low[unit], index[target])
        if low[unit] == index[unit]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == unit:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for unit in sorted(graph):
        if unit not in index:
            visit(unit)
    return sorted(found)


def layer_violations(graph: dict[str, dict[str, set[str]]], layers: list[set[str]]) -> list[str]:
    rank = {unit: i for i, layer in enumerate(layers) for unit in layer}
    return [
        f"{unit} imports {target} ({', '.join(sorted(files))}), which is not in an earlier layer"
        for unit, targets in sorted(graph.items())
        for target, files in sorted(targets.items())
        if rank[target] >= rank[unit]
    ]


def test_every_unit_is_in_exactly_one_documented_layer() -> None:
    layers = documented_layers()
    listed = [unit for layer in layers for unit in layer]
    assert len(listed) == len(set(listed)), (
        f"listed twice: {sorted({u for u in listed if listed.count(u) > 1})}"
    )
    assert set(listed) == units(), (
        f"missing: {sorted(units() - set(listed))}, unknown: {sorted(set(listed) - units())}"
    )


def test_no_package_imports_one_that_imports_it_back() -> None:
    assert cycles(package_graph()) == []


def test_every_import_goes_down_the_documented_layers() -> None:
    assert layer_violations(package_graph(), documented_layers()) == []


# --- the checks themselves catch what they are for ----------------------------------------------


def _write(root: Path, files: dict[str, str]) -> Path:
    source = root / PACKAGE
    for name, text in {"__init__.py": "", **files}.items():
        path = source / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return source


@pytest.fixture
def small_tree(tmp_path: Path) -> Path:
    return _write(
        tmp_path,
        {
            "kit/__init__.py": "",
            "kit/db.py": "",
            "tickets/__init__.py": "",
            "tickets/service.py": "from blink_api.kit import db\n",
            "forms/__init__.py": "",
            "forms/service.py": "from blink_api.tickets import service\n",
        },
    )


def test_a_cycle_is_found_wherever_its_import_hides(small_tree: Path) -> None:
    assert cycles(package_graph(small_tree)) == []
    late = "def f():\n    from ..forms import service\n"  # a local, relative import
    (small_tree / "tickets" / "late.py").write_text(late)
    assert cycles(package_graph(small_tree)) == [["forms", "tickets"]]


def test_an_import_against_the_layers_is_found(small_tree: Path) -> None:
    layers = [{"kit"}, {"tickets"}, {"forms"}]
    assert layer_violations(package_graph(small_tree), layers) == []
    (small_tree / "kit" / "oops.py").write_text("import blink_api.forms.service\n")
    assert layer_violations(package_graph(small_tree), layers) == [
        "kit imports forms (kit/oops.py), which is not in an earlier layer"
    ]
