"""The Assistant facade: keeps one index loaded (rebuilding it when stale or broken) and answers questions."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Collection, Sequence

import numpy as np

from rag.answer import compose_answer
from rag.embedding import Embedder
from rag.indexer import CorpusIndex, build_index, corpus_fingerprint, load_index
from rag.question import clean_question
from rag.retrieval import MODES, Retriever, expand_acronyms
from rag.scoring import Scorer
from rag.store import BuildStore, IndexError_
from rag.types import Answer, Article, Hit

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent


def resolve_dir(path: str | Path | None, default: str) -> Path:
    """A relative path is taken from the working directory; no path means the repository's own folder."""
    return Path(path).expanduser().resolve() if path is not None else REPO_ROOT / default


class Assistant:
    """Question answering over a folder of articles. Defaults are set here and can be overridden per call."""

    def __init__(
        self,
        seeds_dir: str | Path | None = None,
        index_dir: str | Path | None = None,
        model: str | None = None,
        top_k: int = 5,
        mode: str = "hybrid",
        embedder: Embedder | None = None,
        scorer: Scorer | None = None,
        min_confidence: float | None = None,
    ):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self.seeds_dir = resolve_dir(seeds_dir, "seeds")
        self.store = BuildStore(resolve_dir(index_dir, "index"))
        self.embedder = embedder or Embedder(model)  # pass one to share a loaded model between assistants
        self.top_k = top_k
        self.mode = mode
        self.scorer = scorer  # None: the fitted parameters shipped in the package (rag/models/)
        self.min_confidence = min_confidence  # None: the scorer's documented operating point
        self._index: CorpusIndex | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------ index life cycle

    def warm_up(self) -> None:
        """Load (or build) the index and the model now rather than on the first question."""
        self.index
        self.embedder.warm_up()

    @property
    def index(self) -> CorpusIndex:
        index = self._index
        if index is None:
            with self._lock:
                if self._index is None:
                    self._index = self._load_or_build()
                index = self._index
        return index

    def _load_or_build(self) -> CorpusIndex:
        build = self.store.current()
        if build is not None:
            try:
                index = load_index(build)
                fingerprint = corpus_fingerprint(self.seeds_dir, self.embedder.model_id)
                if index.manifest.get("corpus_hash") == fingerprint:
                    return index
                log.info("index is stale (articles, settings or model changed): rebuilding")
            except IndexError_ as err:
                log.warning("index in %s unusable (%s): rebuilding", build.name, err)
        return load_index(build_index(self.seeds_dir, self.store, self.embedder))

    def rebuild(self, progress: bool = False, ray_address: str | None = None) -> CorpusIndex:
        """Build the index again (re-embedding only new or changed text; on Ray when given an address, see
        rag.ray_build) and swap it in for new queries."""
        build = build_index(self.seeds_dir, self.store, self.embedder, progress=progress, ray_address=ray_address)
        index = load_index(build)
        with self._lock:
            self._index = index
        return index

    @property
    def articles(self) -> dict[str, Article]:
        return self.index.articles

    # ------------------------------------------------------------ questions

    def encode_query(self, text: str) -> np.ndarray:
        return self.embedder.encode([text])[0]

    def search(
        self,
        question: str,
        top_k: int | None = None,
        mode: str | None = None,
        doc_ids: Collection[str] | None = None,
    ) -> list[Hit]:
        """The passages that best match the question, best first."""
        question = clean_question(question)
        if not question:
            return []
        index = self.index
        query = expand_acronyms(question, index.acronyms)
        return Retriever(index).search(
            query, self.encode_query(query), top_k=top_k or self.top_k, mode=mode or self.mode, doc_ids=doc_ids
        )

    def ask(
        self,
        question: str,
        history: Sequence[str] | None = None,
        top_k: int | None = None,
        doc_ids: Collection[str] | None = None,
        min_confidence: float | None = None,
        scorer: Scorer | None = None,
    ) -> Answer:
        """An extractive answer with numbered citations drawn from the `top_k` best passages, or an abstention
        when the articles do not answer. `answer.confidence` is the calibrated probability that the answer is
        right; below `min_confidence` (default: the scorer's operating point) the assistant abstains."""
        return compose_answer(
            self.index,
            self.embedder.encode,
            question,
            history or (),
            top_k or self.top_k,
            doc_ids,
            scorer=scorer or self.scorer,
            min_confidence=self.min_confidence if min_confidence is None else min_confidence,
        )
