# Who may import whom under firmware/ (../shared/DESIGN.md, "Layout"): read
# every module's imports (top level and inside functions) with the ast module
# and check the rules and that the import graph has no cycle.
import ast
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIRMWARE = os.path.join(ROOT, "firmware")


def _module_name(path):
    relative = os.path.relpath(path, FIRMWARE)[: -len(".py")]
    parts = relative.split(os.sep)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports():
    """{module: set of panel modules it imports}, for every firmware module."""
    graph = {}
    for folder, _, files in os.walk(FIRMWARE):
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(folder, name)
            with open(path) as handle:
                tree = ast.parse(handle.read(), path)
            graph[_module_name(path)] = tree
    modules = set(graph)
    result = {}
    for module, tree in graph.items():
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    # `from panel.api import auth` imports the module
                    # panel.api.auth; `from panel.core.body import X`, a name.
                    submodule = node.module + "." + alias.name
                    imported.add(submodule if submodule in modules else node.module)
        # The package `panel` itself (`from panel import compat`) is no layer.
        result[module] = {name for name in imported if name in modules and name != "panel"}
    return result


def _layer(module):
    parts = module.split(".")
    return parts[1] if parts[0] == "panel" and len(parts) > 1 else parts[0]


def test_only_the_wiring_and_the_routes_import_api():
    graph = _imports()
    offenders = [
        (module, name)
        for module, names in graph.items()
        for name in names
        if _layer(name) == "api" and _layer(module) != "api" and module != "panel.wiring"
    ]
    assert offenders == []


def test_layers_import_only_what_the_design_allows():
    # layer -> the layers it may import (besides itself and panel.compat).
    allowed = {
        "core": {"core"},
        "proto": {"core", "proto"},
        "store": {"store", "core"},
        "services": {"services", "core", "proto", "store"},
        "calls": {"calls", "services", "core", "proto", "drivers"},
        "drivers": {"drivers", "proto", "core"},
        # api -> store: common.route answers the store's StoreFull (507).
        "api": {"api", "services", "core", "store"},
    }
    graph = _imports()
    offenders = []
    for module, names in graph.items():
        layer = _layer(module)
        if layer not in allowed:
            continue
        for name in names:
            other = _layer(name)
            if other in ("compat", "clock") or other in allowed[layer]:
                continue
            offenders.append((module, name))
    assert offenders == []


def test_no_import_cycle():
    graph = _imports()
    # Depth-first search with colours: grey on the stack, black finished.
    colour = {}
    cycles = []

    def visit(module, stack):
        colour[module] = "grey"
        stack.append(module)
        for name in sorted(graph[module]):
            if colour.get(name) == "grey":
                cycles.append(stack[stack.index(name) :] + [name])
            elif name not in colour:
                visit(name, stack)
        stack.pop()
        colour[module] = "black"

    for module in sorted(graph):
        if module not in colour:
            visit(module, [])
    assert cycles == []


def test_the_graph_is_read():
    # The checks above pass vacuously on an empty graph: make sure they don't.
    graph = _imports()
    assert "panel.wiring" in graph and "panel.api.device" in graph["panel.wiring"]
    assert "panel.services.redirect_index" in graph["panel.services.redirect_rules"]
