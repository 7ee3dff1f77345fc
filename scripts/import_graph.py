"""The house's imports, measured: circles, the longest chain of imports inside rag/, and the package diagram.

`python scripts/import_graph.py` prints the circles (none expected) and the longest chain;
`python scripts/import_graph.py --mermaid` prints the package diagram docs/ARCHITECTURE.md shows (generated
from the imports by grimp, the graph import-linter checks, never drawn by hand)."""

from __future__ import annotations

import argparse
import sys
from functools import lru_cache
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
# the boxes of the diagram, top to bottom: what a newcomer should see of the house
PACKAGES = ("rag.__main__", "rag.cli", "rag.web", "rag.bench", "rag.train", "rag.evaluate", "rag.assistant", "rag.answer",
            "rag.index", "rag.ingest", "rag.types", "rag.errors", "rag.files", "rag.payload")


def module_graph() -> dict[str, set[str]]:
    """Every module of rag/ and the modules of rag/ it imports (anywhere in its body)."""
    sys.path.insert(0, str(ROOT))
    graph = grimp.build_graph("rag", exclude_type_checking_imports=True)
    return {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def longest_chain(graph: dict[str, set[str]]) -> list[str]:
    """The longest chain of imports (modules, importer first); the graph must have no circle.
    A package's __init__ that only re-exports its face is a module like any other."""

    @lru_cache(maxsize=None)
    def from_(v: str) -> tuple[str, ...]:
        best: tuple[str, ...] = ()
        for w in graph[v]:
            chain = from_(w)
            if len(chain) > len(best):
                best = chain
        return (v, *best)

    return list(max((from_(v) for v in graph), key=len))


def package_of(module: str) -> str:
    for package in sorted(PACKAGES, key=len, reverse=True):
        if module == package or module.startswith(package + "."):
            return package
    return module


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The imports between the boxes of the diagram (the root package's face left out: it only re-exports)."""
    packages: dict[str, set[str]] = {p: set() for p in PACKAGES}
    for v, targets in graph.items():
        for w in targets:
            a, b = package_of(v), package_of(w)
            if a != b and a in packages and b in packages:
                packages[a].add(b)
    return packages


def mermaid(graph: dict[str, set[str]]) -> str:
    """Packages as boxes, an arrow where any module of one imports a module of the other, with the count."""
    edges: dict[tuple[str, str], int] = {}
    for v, targets in graph.items():
        for w in targets:
            a, b = package_of(v), package_of(w)
            if a != b and a in PACKAGES and b in PACKAGES:
                edges[(a, b)] = edges.get((a, b), 0) + 1
    lines = ["flowchart TD"]
    for package in PACKAGES:
        size = sum(1 for m in graph if package_of(m) == package)
        label = package.replace("rag.", "") + (f"/ ({size} modules)" if size > 1 else ".py")
        lines.append(f'    {package.replace(".", "_")}["{label}"]')
    for (a, b), count in sorted(edges.items(), key=lambda e: (PACKAGES.index(e[0][0]), PACKAGES.index(e[0][1]))):
        lines.append(f"    {a.replace('.', '_')} -->|{count}| {b.replace('.', '_')}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mermaid", action="store_true", help="print the package diagram (Mermaid)")
    args = parser.parse_args()
    graph = module_graph()
    if args.mermaid:
        print(mermaid(graph))
        return 0
    found = circles(graph)
    for group in found:
        print("circle:", " <-> ".join(group))
    if found:
        return 1
    packages = package_graph(graph)
    chain = longest_chain(packages)
    print(f"{len(graph)} modules in {len(packages)} packages and top modules, no circle.")
    print(f"The longest chain of imports between packages has {len(chain)} levels:\n  " + " -> ".join(chain))
    chain = longest_chain(graph)
    print(f"between modules, {len(chain)} levels:\n  " + " -> ".join(chain))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
