"""A clone passes its own tests with nothing beside it: what the tests and `python -m rag eval` read is in the
repository's data/ folder, never in ../shared (issue 18)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from conftest import DATA, DEV_SET, FIXTURES, REPO, SQUAD

TESTS = REPO / "tests"


def test_the_data_the_tests_read_is_in_the_repository():
    from rag.evaluate.evaluation import DEFAULT_QUESTIONS
    from rag.evaluate.squad import DEFAULT_SQUAD

    for path in (DEFAULT_QUESTIONS, DEFAULT_SQUAD, DEV_SET, FIXTURES, SQUAD):
        assert path.resolve().is_relative_to(REPO), path
        assert path.exists(), path
    assert DEFAULT_QUESTIONS == DEV_SET
    assert DEFAULT_SQUAD == SQUAD / "dev-two-articles.json"
    training = ["train-ten-articles.json", "dev-twenty-five-articles.json", "squad11-thirteen-articles.json"]
    assert all((SQUAD / name).is_file() for name in training)
    for readme in ("README.md", "eval/README.md", "squad2/README.md", "fixtures/README.md"):
        assert (DATA / readme).is_file(), readme
    licences = (DATA / "README.md").read_text(encoding="utf-8")
    assert "CC BY-SA 4.0" in licences and "Rajpurkar" in licences and "Apache-2.0" in licences


def test_no_test_reads_the_folder_beside_the_repository():
    for path in TESTS.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        for needle in ("../shared", 'parent / "shared"', "needs_shared", "SHARED"):
            assert needle not in text or path.name == "test_clone.py", f"{path.name} mentions {needle}"


def tracked_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, capture_output=True, check=True,
    ).stdout.decode()
    return [name for name in listed.split("\0") if name and (REPO / name).is_file()]


@pytest.mark.slow
def test_a_clone_with_nothing_beside_it_passes_the_tests_that_read_data(tmp_path):
    """The repository's files (what a clone has) copied into an empty folder: no ../shared beside it, no
    RAG_TEST_OPTIONAL. The tests reading real files and the dev set pass there, and `rag eval`'s defaults
    point into the copy."""
    clone = tmp_path / "alone" / "repo"
    for name in tracked_files():
        (clone / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO / name, clone / name)
    assert sorted(p.name for p in clone.parent.iterdir()) == ["repo"]
    env = {k: v for k, v in os.environ.items() if k not in ("RAG_TEST_OPTIONAL", "PYTHONPATH")}
    env["PYTHONPATH"] = str(clone)

    def run(*args):
        return subprocess.run([sys.executable, *args], cwd=clone, env=env, capture_output=True, text=True,
                              timeout=240)

    defaults = run("-c", "import rag.evaluate.evaluation as e, rag.evaluate.squad as s, rag; "
                   "print(rag.__file__); print(e.DEFAULT_QUESTIONS.is_file(), s.DEFAULT_SQUAD.is_file())")
    assert defaults.returncode == 0, defaults.stderr
    assert defaults.stdout.split("\n")[:2] == [str(clone / "rag" / "__init__.py"), "True True"]
    tests = run("-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/ingest/test_readers.py",
                "tests/evaluate/test_evaluation.py::test_metric_helpers")
    assert tests.returncode == 0, tests.stdout[-3000:]
    assert " passed" in tests.stdout and "skipped" not in tests.stdout
    collected = run("-m", "pytest", "-q", "-p", "no:cacheprovider", "--collect-only", "tests/answer/test_question.py")
    assert collected.returncode == 0, collected.stdout[-3000:]
    assert "test_every_dev_answer_is_grounded_and_short[" in collected.stdout
