"""The house's imports, measured: circles, the longest chain of imports inside rag/, and the package diagram.

`python scripts/import_graph.py` prints the circles (none expected) and the longest chains of imports: between
packages, between modules as importing runs them, and counting imports deferred inside functions too;
`python scripts/import_graph.py --mermaid` prints the package diagram docs/ARCHITECTURE.md shows (generated
from the imports by grimp, the graph import-linter checks, never drawn by hand); `--write docs/ARCHITECTURE.md`
puts it there, between its two diagram markers."""

from __future__ import annotations

import argparse
import ast
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


def import_time_graph() -> dict[str, set[str]]:
    """The imports a module runs when it is imported: its top-level ones (not those deferred inside a function,
    which wait for the call: how the query path keeps torch and nltk out), read from the source."""
    graph: dict[str, set[str]] = {}
    modules = {}
    for path in sorted((ROOT / "rag").rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    for name, path in modules.items():
        targets = set()
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("rag"):
                targets |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module for a in node.names}
            elif isinstance(node, ast.Import):
                targets |= {a.name for a in node.names if a.name.startswith("rag")}
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


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


def package_imports(graph: dict[str, set[str]], box=lambda package: package) -> dict[tuple[str, str], int]:
    """How many module imports run from one box to another, a box being a package of PACKAGES or what `box`
    makes of it (the root package's face left out: it only re-exports)."""
    counts: dict[tuple[str, str], int] = {}
    for v, targets in graph.items():
        for w in targets:
            a, b = package_of(v), package_of(w)
            if a in PACKAGES and b in PACKAGES and box(a) != box(b):
                counts[(box(a), box(b))] = counts.get((box(a), box(b)), 0) + 1
    return counts


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The imports between packages, as a graph of their own."""
    packages: dict[str, set[str]] = {p: set() for p in PACKAGES}
    for a, b in package_imports(graph):
        packages[a].add(b)
    return packages


SHARED = ("rag.types", "rag.errors", "rag.files", "rag.payload")  # one box at the bottom: every stage uses them


def mermaid(graph: dict[str, set[str]]) -> str:
    """Packages as boxes, top to bottom as the layers run; an arrow where modules of one import modules of the
    other, labelled with how many such imports there are. The shared value modules are one box."""
    box = lambda package: "shared" if package in SHARED else package.replace("rag.", "").strip("_")  # noqa: E731
    edges = package_imports(graph, box)
    order = list(dict.fromkeys(box(p) for p in PACKAGES))
    lines = ["flowchart TD"]
    for name in order:
        members = [p for p in PACKAGES if box(p) == name]
        modules = sum(1 for m in graph if package_of(m) in members)
        if name == "shared":
            label = ", ".join(p.replace("rag.", "") + ".py" for p in SHARED)
        elif modules > 1:
            label = f"{name}/ ({modules} modules)"
        else:
            label = f"{members[0].replace('rag.', '')}.py"
        lines.append(f'    {name}["{label}"]')
    for (a, b), count in sorted(edges.items(), key=lambda e: (order.index(e[0][0]), order.index(e[0][1]))):
        lines.append(f"    {a} -->|{count}| {b}")
    return "\n".join(lines)


BEGIN, END = "<!-- diagram: python scripts/import_graph.py --write docs/ARCHITECTURE.md -->", "<!-- end of diagram -->"


def with_diagram(markdown: str, diagram: str) -> str:
    """The markdown with the text between the diagram markers replaced by the diagram as a Mermaid block."""
    head, rest = markdown.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n```mermaid\n{diagram}\n```\n{END}{tail}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mermaid", action="store_true", help="print the package diagram (Mermaid)")
    parser.add_argument("--write", metavar="MARKDOWN", help="replace the diagram between the markers of this file")
    args = parser.parse_args()
    graph = module_graph()
    if args.mermaid:
        print(mermaid(graph))
        return 0
    if args.write:
        path = Path(args.write)
        path.write_text(with_diagram(path.read_text(encoding="utf-8"), mermaid(graph)), encoding="utf-8")
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
    chain = longest_chain(import_time_graph())
    print(f"Between modules, as importing runs them, {len(chain)} levels:\n  " + " -> ".join(chain))
    chain = longest_chain(graph)
    print(f"Between modules, counting imports deferred inside functions too, {len(chain)} levels:\n  " + " -> ".join(chain))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
