"""Shared fixtures: the real model (loaded once), an assistant over the repo's seeds, small corpora."""

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"

PARAGRAPHS = [
    "The harbour authority of Northport approved a new container terminal on 3 March 2021 after a long debate.",
    "Critics said the terminal would damage the wetlands south of the city, home to rare migrating birds.",
    "The mayor, Alice Brennan, argued that the project would create 4,000 jobs within five years.",
    "Construction began in June 2022 and is expected to finish in 2026, according to the port's own plan.",
]


@pytest.fixture(scope="session")
def embedder():
    from rag.embedding import Embedder

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


@pytest.fixture
def small_corpus(tmp_path):
    """A folder with one clean article about a port, and a copy of one real seed."""
    folder = tmp_path / "articles"
    folder.mkdir()
    write_article(folder, "port.txt", "Northport approves terminal", PARAGRAPHS, byline="By Jane Roe")
    shutil.copy(SEEDS / "001_53155a2f9b336c2e.txt", folder)
    return folder


@pytest.fixture(scope="module")
def web_url(seed_assistant):
    """The real web app over the seeds (REST, article pages, chat) on a free port, one per test module."""
    from rag.web import create_app, serve_in_background

    with serve_in_background(create_app(seed_assistant)) as url:
        yield url
