"""The import graph flows one way (issue 18): analysis -> sim -> agents, without circles.

Read from the source with :mod:`ast` (nothing is imported), counting every import: at
module level, inside functions and under ``TYPE_CHECKING``.

- No module of ``sim/`` imports ``analysis/``: the core and its shells stand alone.
- No module of ``agents/`` imports the engine: of ``sim`` it may use only the exception
  type, :mod:`sim.errors`.
- No two modules of ``sim/``, ``agents/`` and ``analysis/`` import each other, directly
  or through others.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("sim", "agents", "analysis")
AGENTS_MAY_IMPORT = {"sim.errors"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _graph() -> dict[str, set[str]]:
    files = {_module_name(f): f for pkg in PACKAGES for f in (ROOT / pkg).rglob("*.py")}
    graph = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                deps.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    module = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    module = node.module or ""
                deps.add(module)
                deps.update(f"{module}.{a.name}" for a in node.names)
        graph[name] = {d for d in deps if d in files and d != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]

    def visit(root: str) -> None:
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


GRAPH = _graph()


def test_the_graph_is_read():
    assert {"sim.engine", "agents.learners", "analysis.compare"} <= GRAPH.keys()
    assert "sim.core" in GRAPH["sim.engine"]  # the reader sees a known import


def test_no_module_of_sim_imports_analysis():
    bad = sorted(
        f"{m} -> {d}" for m, deps in GRAPH.items() if m.split(".")[0] == "sim"
        for d in deps if d.split(".")[0] == "analysis"
    )  # fmt: skip
    assert not bad, bad


def test_no_module_of_agents_imports_the_engine():
    bad = sorted(
        f"{m} -> {d}" for m, deps in GRAPH.items() if m.split(".")[0] == "agents"
        for d in deps if d.split(".")[0] == "sim" and d not in AGENTS_MAY_IMPORT
    )  # fmt: skip
    assert not bad, bad


def test_no_import_circles():
    assert not _cycles(GRAPH)


def test_a_circle_is_found():
    """The cycle finder itself: a known circle and a chain."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
