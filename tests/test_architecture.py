"""No two modules of ours import each other in a circle, directly or round a loop.

import-linter checks the layers (``make test``); this checks the rest: a
circle inside one layer, such as two modules that reach each other through
an import hidden inside a function. grimp reads every import statement,
including those in functions and under ``TYPE_CHECKING``, so a circle held
together by a lazy import is still a circle here.
"""

from __future__ import annotations

from pathlib import Path

import grimp
import networkx as nx
import pytest

PACKAGES = ("agent", "connectors", "rules")

#: Circles that are known and not yet broken, each as the set of modules in it.
#: This list may only shrink: a circle that is gone must be taken off (the
#: second test fails until it is), and a new one is never added here — break it.
#: Broken so far: agent.pipeline <-> agent.parallel, connectors.files <->
#: connectors.registry, connectors.google.auth <-> connectors.google.transport.
ALLOWED: list[frozenset[str]] = []


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """One circle for every group of modules that import each other, as a path
    that starts and ends at the same module."""
    imports = nx.DiGraph()
    for module in graph.modules:
        imports.add_node(module)
        imports.add_edges_from((module, target)
                               for target in graph.find_modules_directly_imported_by(module))
    cycles = []
    for group in nx.strongly_connected_components(imports):
        if len(group) > 1:
            edges = nx.find_cycle(imports.subgraph(group))
            cycles.append([a for a, _ in edges] + [edges[0][0]])
    return sorted(cycles)


def _ours() -> list[list[str]]:
    return import_cycles(grimp.build_graph(*PACKAGES, cache_dir=None))


def test_no_module_imports_itself_round_a_circle() -> None:
    new = [c for c in _ours() if frozenset(c) not in ALLOWED]
    assert not new, "import circles:\n" + "\n".join(" -> ".join(c) for c in new)


def test_the_allowed_circles_still_exist() -> None:
    found = {frozenset(c) for c in _ours()}
    gone = [sorted(c) for c in ALLOWED if c not in found]
    assert not gone, f"these circles are broken now; take them off ALLOWED: {gone}"


def test_a_circle_held_by_an_import_inside_a_function_is_found(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "circled"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "first.py").write_text("from circled import second\n")
    (package / "second.py").write_text("def later():\n    from circled.first import x\n")
    (package / "third.py").write_text("from circled import first\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    cycles = import_cycles(grimp.build_graph("circled", cache_dir=None))
    assert [set(c) for c in cycles] == [{"circled.first", "circled.second"}]
