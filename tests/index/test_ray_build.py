"""The Ray Data build (`python -m rag index --ray local`) gives the plain build: the same passages, vectors
equal within 1e-5, the same top 10 for every dev question. Ray is the optional [scale] extra (the query path never imports it:
tests/index/test_embedder.py)."""

import os
import subprocess
import sys

import numpy as np
import pytest

from rag.evaluate.evaluation import DEFAULT_QUESTIONS, load_questions
from rag.index.corpus_index import load_index
from rag.answer.question import parse_question
from rag.answer.retrieval import Retriever
from rag.index.builds import BuildStore

from conftest import REPO, SEEDS

pytest.importorskip("ray")

OWN_QUESTIONS = [
    "Why did China ban Japanese seafood?",
    "Who represented the Japanese government at the Belt and Road Forum?",
    "When was the Treaty of Peace and Friendship signed?",
    "What did Abe say about the BRI?",
]


def questions() -> list[str]:
    dev = [q.question for q in load_questions(DEFAULT_QUESTIONS)] if DEFAULT_QUESTIONS.is_file() else []
    return OWN_QUESTIONS + dev


@pytest.fixture(scope="module")
def ray_index(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ray-index")
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    env.pop("RAY_ADDRESS", None)
    cmd = [sys.executable, "-m", "rag", "--seeds", str(SEEDS), "--index", str(folder), "index", "--ray", "local", "--quiet"]
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "on Ray: local" in done.stdout
    return load_index(BuildStore(folder).current())


def test_the_ray_build_equals_the_plain_build(ray_index, seed_assistant, embedder):
    plain = seed_assistant.index
    assert ray_index.manifest["built_on"] == "ray:local"
    assert ray_index.passages == plain.passages and ray_index.articles == plain.articles
    assert np.abs(ray_index.passage_vectors - plain.passage_vectors).max() <= 1e-5
    assert np.abs(ray_index.sentence_vectors - plain.sentence_vectors).max() <= 1e-5
    assert ray_index.acronyms == plain.acronyms
    for question in questions():
        assert top_10(ray_index, question, embedder) == top_10(plain, question, embedder), question


def top_10(index, question: str, embedder) -> list[int]:
    """Passage rows of the top 10, as Assistant.search finds them (parsed: cleaned, acronyms expanded; hybrid)."""
    query = parse_question(question, (), index).query
    return [h.passage.passage_id for h in Retriever(index).search(query, embedder.encode([query])[0], top_k=10)]
