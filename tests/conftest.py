"""Shared fixtures: the real model (loaded once), an assistant over the repo's seeds, small corpora; and the
rule that a test needing Chromium fails, never skips, when it is missing. Everything else a test reads (the
dev set, SQuAD, real files) is in the repository's data/ folder: a clone passes its tests with nothing beside it."""

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Assistants (and CLI runs) of the tests never see the uploads a developer made in this checkout; a test that
# adds uploads passes its own folder.
os.environ["RAG_UPLOADS"] = tempfile.mkdtemp(prefix="rag-test-uploads-")

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
DATA = REPO / "data"  # the dev set, SQuAD files and real files to ingest, in the repository (data/README.md)
FIXTURES = DATA / "fixtures"
SQUAD = DATA / "squad2"
CHROMIUM = Path("/usr/bin/chromium")
DEV_SET = DATA / "eval" / "questions.jsonl"
# The only way to let a missing browser skip its tests (a developer without Chromium). Unset, or anything
# else, and such a test FAILS: CI must never go green with the browser tests gone.
OPTIONAL_ENV = "RAG_TEST_OPTIONAL"

PARAGRAPHS = [
    "The harbour authority of Northport approved a new container terminal on 3 March 2021 after a long debate.",
    "Critics said the terminal would damage the wetlands south of the city, home to rare migrating birds.",
    "The mayor, Alice Brennan, argued that the project would create 4,000 jobs within five years.",
    "Construction began in June 2022 and is expected to finish in 2026, according to the port's own plan.",
]


# ---------------------------------------------------------------- resources a test may need


def pytest_configure(config):
    config.addinivalue_line("markers", "needs_chromium: drives /usr/bin/chromium (fails if missing)")
    config.addinivalue_line(
        "markers", "slow: costs seconds a run (the seed index, an index of a real seed article, a subprocess); "
        "left out of mutation runs, which repeat every test per mutant")


def missing_resources(item) -> list[str]:
    missing = []
    if item.get_closest_marker("needs_chromium") and not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (`apt-get install chromium`, as `make test` does)")
    return missing


def pytest_runtest_setup(item):
    missing = missing_resources(item)
    if not missing:
        return
    message = "missing " + "; ".join(missing)
    if os.environ.get(OPTIONAL_ENV) == "skip":
        pytest.skip(f"{message} ({OPTIONAL_ENV}=skip)")
    pytest.fail(f"{message}. Set {OPTIONAL_ENV}=skip to skip such tests on purpose.", pytrace=False)


def examples(default: int) -> int:
    """Hypothesis examples for a property; mutation runs, which repeat it per mutant, ask for fewer."""
    return int(os.environ.get("RAG_HYPOTHESIS_EXAMPLES", default))


def load_dev_set():
    from rag.evaluate.evaluation import load_questions

    return load_questions(DEV_SET)  # in the repository: missing, it is a collection error, not a skip


def pytest_generate_tests(metafunc):
    """`dev_question` runs a test once per dev-set question."""
    if "dev_question" in metafunc.fixturenames:
        metafunc.parametrize("dev_question", [pytest.param(q, id=q.id) for q in load_dev_set()])


def pytest_collection_modifyitems(config, items):
    # A test on the seed index, or one building an index of a real seed article with the model (small_corpus),
    # costs seconds the mutation runs cannot pay for every mutant; each such stage has fast tests on tiny
    # hand-made articles instead.
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "seed_assistant" in fixtures or ("small_corpus" in fixtures and "embedder" in fixtures):
            item.add_marker(pytest.mark.slow)


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def embedder():
    from rag.index.embedder import Embedder

    model = Embedder()
    model.warm_up()
    return model


@pytest.fixture(scope="session")
def seed_assistant(tmp_path_factory, embedder):
    """An assistant over the real seeds, with its own index built once for the session."""
    from rag import Assistant

    assistant = Assistant(seeds_dir=SEEDS, index_dir=tmp_path_factory.mktemp("seed-index"), embedder=embedder)
    assistant.warm_up()
    return assistant


def write_article(folder: Path, name: str, title: str, paragraphs, byline: str = "") -> Path:
    lines = [title] + ([byline] if byline else []) + [""] + [p + "\n" for p in paragraphs]
    path = folder / name
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def port_assistant(root: Path, embedder):
    """An assistant over a corpus of its own under `root` (one seed article, "Northport approves terminal"),
    with its own index and uploads folder, warmed up: tests that upload or remove touch nothing else."""
    from rag import Assistant

    (root / "articles").mkdir()
    write_article(root / "articles", "port.txt", "Northport approves terminal", PARAGRAPHS, byline="By Jane Roe")
    assistant = Assistant(
        seeds_dir=root / "articles", index_dir=root / "index", uploads_dir=root / "uploads", embedder=embedder
    )
    assistant.warm_up()
    return assistant


@pytest.fixture
def small_corpus(tmp_path):
    """A folder with one clean article about a port, and a copy of one real seed."""
    folder = tmp_path / "articles"
    folder.mkdir()
    write_article(folder, "port.txt", "Northport approves terminal", PARAGRAPHS, byline="By Jane Roe")
    shutil.copy(SEEDS / "001_53155a2f9b336c2e.txt", folder)
    return folder


def clustered(rng, n, d=16, clusters=40):
    """Hand-made vectors with neighbourhoods (points around random centres), L2-normalised. Draw data and
    queries in one call, so the queries fall in the data's neighbourhoods."""
    centres = rng.standard_normal((clusters, d)).astype(np.float32)
    x = centres[rng.integers(0, clusters, n)] + 0.3 * rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def brute_force(vectors, query, k):
    return list(np.argsort(-(vectors @ query), kind="stable")[:k])


@pytest.fixture(scope="module")
def web_url(seed_assistant):
    """The real web app over the seeds (REST, article pages, chat) on a free port, one per test module."""
    from rag.web import create_app, serve_in_background

    with serve_in_background(create_app(seed_assistant)) as url:
        yield url


@pytest.fixture(scope="module")
def bag_index():
    """The hand-made two-article corpus both composers are tested on (tests/handmade.py), bag-of-words vectors."""
    from handmade import port_and_stadium_index

    return port_and_stadium_index()
