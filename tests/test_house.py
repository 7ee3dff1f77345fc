"""The house's shape, from its imports (grimp, as import-linter reads them): stages as packages, no circle,
short chains, small modules, and tests that mirror the packages."""

import ast
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))

import import_graph  # noqa: E402

STAGES = ("ingest", "index", "answer", "evaluate", "train", "web", "bench")
MAX_LINES = 400


def test_no_import_circle_and_at_most_eight_levels_of_imports():
    graph = import_graph.module_graph()  # every import, those deferred inside functions too
    assert import_graph.circles(graph) == []
    chain = import_graph.longest_chain(import_graph.package_graph(graph))
    assert len(chain) <= 8, chain
    at_import = import_graph.import_time_graph()
    assert import_graph.circles(at_import) == []
    chain = import_graph.longest_chain(at_import)
    assert len(chain) <= 8, chain


def test_circles_and_chains_are_found_on_a_graph_that_has_them():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert import_graph.circles(graph) == [["a", "b", "c"]]
    assert import_graph.longest_chain({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == ["a", "b", "c"]


def test_each_stage_is_a_package_that_names_its_face_and_its_tests_sit_beside_it():
    for stage in STAGES:
        init = REPO / "rag" / stage / "__init__.py"
        assert ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))), f"{init} has no docstring"
        assert list((REPO / "tests" / stage).glob("test_*.py")), f"no tests/{stage}/"
    loose = sorted(p.name for p in (REPO / "rag").glob("*.py"))
    assert loose == ["__init__.py", "__main__.py", "assistant.py", "cli.py", "errors.py", "files.py", "payload.py", "types.py"]


def test_no_module_is_much_over_four_hundred_lines_and_each_says_what_it_is():
    for path in (REPO / "rag").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert text.count("\n") <= MAX_LINES, f"{path.relative_to(REPO)}: {text.count(chr(10))} lines"
        assert path.name == "__main__.py" or ast.get_docstring(ast.parse(text)), f"{path.relative_to(REPO)} has no docstring"


def test_the_architecture_diagram_is_the_one_the_imports_give():
    doc = (REPO / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    current = import_graph.mermaid(import_graph.module_graph())
    assert import_graph.with_diagram(doc, current) == doc, "run: python scripts/import_graph.py --write docs/ARCHITECTURE.md"
    for package in ("ingest", "index", "answer", "evaluate", "train", "web", "bench"):
        assert f"**`rag/{package}/`" in doc, f"no paragraph for rag/{package}/"
