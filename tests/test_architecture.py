"""The shape of portal/ (docs/architecture.md), held by tests so that it does not wear thin again:
no import cycle, every module in a layer of the import contract (pyproject.toml, checked by
`lint-imports` in `make check`), controllers named by their audience, and no import inside a
function unless a comment says why."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
PORTAL = ROOT / "portal"
CONTROLLER_NAMES = {"staff", "client", "public"}  # by audience; the contract lets them call any area


def module_name(path: Path) -> str:
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    return name.removesuffix(".__init__")


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PORTAL.rglob("*.py"))}


def cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's, without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph.modules):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return found


def test_no_module_imports_itself_back_through_others():
    """Imports inside functions count too: they were what hid the payment path's cycle."""
    graph = grimp.build_graph("portal", cache_dir=None)
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    graph = grimp.ImportGraph()
    for name in ("a", "a.one", "a.two", "a.three"):
        graph.add_module(name)
    graph.add_import(importer="a.one", imported="a.two")
    graph.add_import(importer="a.two", imported="a.one")
    graph.add_import(importer="a.three", imported="a.one")
    assert cycles(graph) == [["a.one", "a.two"]]


def contract_layers() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    [contract] = [c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers"]
    return [name.strip().strip("()") for layer in contract["layers"] for name in layer.replace("|", ":").split(":")]


def test_every_module_is_in_a_layer_of_the_import_contract():
    """A new module must be placed in docs/architecture.md's layers (pyproject.toml), or the
    contract would not look at it. Controllers and tables are the two exceptions by design."""
    layers = contract_layers()
    unplaced = [
        name for name in modules()
        if name != "portal" and name.rsplit(".", 1)[-1] not in CONTROLLER_NAMES | {"tables", "__init__"}
        and not any(name == layer or name.startswith(layer + ".") for layer in layers)
        and not any(layer.startswith(name + ".") for layer in layers)  # a package whose parts are placed
    ]
    assert unplaced == []


def test_controllers_are_named_by_their_audience():
    """staff.py, client.py, public.py: where a newcomer looks for the routes of a page."""
    misnamed = []
    for name, path in modules().items():
        tree = ast.parse(path.read_text())
        for node in tree.body:
            is_controller = isinstance(node, ast.ClassDef) and any(ast.unparse(base) == "Controller" for base in node.bases)
            if is_controller and name.rsplit(".", 1)[-1] not in CONTROLLER_NAMES:
                misnamed.append(f"{name}.{node.name}")
    assert misnamed == []


def unexplained_function_imports(source: str) -> list[int]:
    """Lines of imports inside a function with no comment on the line or directly above it."""
    tree = ast.parse(source)
    lines = source.splitlines()
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    unexplained = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        ancestor, in_function = node, False
        while ancestor in parents:
            ancestor = parents[ancestor]
            in_function = in_function or isinstance(ancestor, (ast.FunctionDef, ast.AsyncFunctionDef))
        if not in_function:
            continue
        own_line = lines[node.lineno - 1]
        above = lines[node.lineno - 2].strip() if node.lineno > 1 else ""
        if "#" not in own_line and not above.startswith("#") and not (above.startswith("try:") and "#" in above):
            unexplained.append(node.lineno)
    return unexplained


def test_no_import_inside_a_function_without_a_reason():
    found = {name: lines for name, path in modules().items() if (lines := unexplained_function_imports(path.read_text()))}
    assert found == {}


def test_the_import_rule_tells_an_explained_import_from_a_bare_one():
    source = (
        "def a():\n    import json\n"
        "def b():\n    import json  # loaded late: why\n"
        "def c():\n    # why\n    import json\n"
    )
    assert unexplained_function_imports(source) == [2]
