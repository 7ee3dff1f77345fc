"""The Assistant facade: keeps one index loaded (rebuilding it when stale or broken), answers questions, and
adds or removes uploaded articles by swapping in an updated index."""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Collection, Iterator, Sequence

import numpy as np

from rag.answer.compose import compose_answer
from rag.answer.question import parse_question
from rag.answer.reader import Reader
from rag.answer.reader_compose import compose_reader_answer
from rag.answer.retrieval import MODES, Retriever
from rag.answer.scoring import Scorer
from rag.errors import FileTooLarge, LastArticle, SeedArticle, UnknownArticle
from rag.index.build import build_index, corpus_fingerprint
from rag.index.builds import BuildStore, IndexError_
from rag.index.corpus_index import CorpusIndex, load_index, resolve_vector_store
from rag.index.embedder import Embedder
from rag.index.incremental import PUNKT_FILE, add_articles, remove_articles, stamped, write_index
from rag.ingest.articles import CorpusError
from rag.ingest.readers import MAX_FILE_BYTES, PARSE_SECONDS, detect_format
from rag.ingest.uploads import UploadStore, content_digest, read_upload, upload_doc_id
from rag.types import Added, Answer, Article, Hit

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
        uploads_dir: str | Path | None = None,
        parse_seconds: float = PARSE_SECONDS,
        reader: Reader | None = None,
        vector_store: str | None = None,
    ):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self.seeds_dir = resolve_dir(seeds_dir, "seeds")
        self.store = BuildStore(resolve_dir(index_dir, "index"))
        self.uploads = UploadStore(resolve_dir(uploads_dir or os.environ.get("RAG_UPLOADS") or None, "uploads"))
        self.parse_seconds = parse_seconds
        self.embedder = embedder or Embedder(model)  # pass one to share a loaded model between assistants
        self.top_k = top_k
        self.mode = mode
        self.scorer = scorer  # None: the fitted parameters shipped in the package (rag/models/)
        self.min_confidence = min_confidence  # None: the scorer's (or the reader's) operating point
        self.reader = reader  # opt-in: answers by the trained reader (rag.answer.reader_compose) instead of the scorer
        self.vector_store = resolve_vector_store(vector_store)  # "faiss" unless asked ($RAG_STORE, --store)
        self._index: CorpusIndex | None = None
        self._build: Path | None = None  # the published build `_index` was loaded from or written as
        self._lock = threading.Lock()  # guards the swap of (_index, _build)
        self._follow_lock = threading.Lock()  # one thread at a time loads a build another process published
        self._refused: str = ""  # a published build that could not be loaded: not tried again on every question
        self._write_lock = threading.Lock()  # one add, remove or rebuild at a time in this process

    # ------------------------------------------------------------ index life cycle

    def warm_up(self) -> None:
        """Load (or build) the index and the model now rather than on the first question."""
        self.index
        self.embedder.warm_up()

    @property
    def index(self) -> CorpusIndex:
        """The loaded index, or the one another process (`python -m rag add`, a second app) published since it
        was loaded: `CURRENT` is the one record of which articles exist, read (a small file) on every use."""
        self._follow_published()
        index = self._index
        if index is None:
            with self._lock:
                if self._index is None:
                    self._index, self._build = self._load_or_build()
                index = self._index
        return index

    def _follow_published(self) -> None:
        """Swap in the build `CURRENT` names when it is not the loaded one (questions asked meanwhile wait for
        it: they must see the articles added before they were asked). Nothing to do while this process writes:
        its add or remove swaps in what it publishes, and holds the lock other processes publish under. A build
        this process swapped in is never replaced by an older one."""
        loaded = self._build
        if loaded is None or self._write_lock.locked():
            return
        name = self.store.current_name()
        if not name or name == loaded.name or name == self._refused:
            return
        with self._follow_lock:
            loaded = self._build
            build = self.store.current()
            if build is None or build == loaded:
                return
            try:
                index = load_index(build)
            except IndexError_ as err:
                log.warning("published build %s unusable (%s): keeping %s", build.name, err, loaded.name)
                self._refused = build.name
                return
            with self._lock:
                if self._build == loaded:
                    self._index, self._build = index, build
                    log.info("now answering from %s, published by another process", build.name)

    def _load_or_build(self) -> tuple[CorpusIndex, Path]:
        build = self.store.current()
        if build is not None:
            try:
                index = load_index(build, self.vector_store)
                if index.manifest.get("corpus_hash") == self.fingerprint():
                    return index, build
                log.info("index is stale (articles, uploads, settings or model changed): rebuilding")
            except IndexError_ as err:
                log.warning("index in %s unusable (%s): rebuilding", build.name, err)
        build = build_index(self.seeds_dir, self.store, self.embedder, uploads=self.uploads, vector_store=self.vector_store)
        return load_index(build), build

    def fingerprint(self) -> str:
        return corpus_fingerprint(self.seeds_dir, self.embedder.model_id, self.uploads, vector_store=self.vector_store)

    def rebuild(self, progress: bool = False, ray_address: str | None = None) -> CorpusIndex:
        """Build the index again (re-embedding only new or changed text; on Ray when given an address, see
        rag.index.ray_build) and swap it in for new queries."""
        with self._writing():
            build = build_index(
                self.seeds_dir, self.store, self.embedder, progress=progress, uploads=self.uploads,
                ray_address=ray_address, vector_store=self.vector_store,
            )
            index = load_index(build)
            self._swap(index, build)
        return index

    def _swap(self, index: CorpusIndex, build: Path) -> None:
        with self._lock:
            self._index, self._build = index, build

    @property
    def articles(self) -> dict[str, Article]:
        """Every indexed article by doc id; `Article.origin` tells "seed" (articles folder) from "upload"."""
        return self.index.articles

    @property
    def uploads_dir(self) -> Path:
        return self.uploads.folder

    # ------------------------------------------------------------ adding and removing articles

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """One writer at a time: threads of this process, and other processes on the same index folder. The lock
        is taken on the index folder itself, not on a file in it, so a refused write leaves the folder exactly
        as it was."""
        import fcntl

        with self._write_lock:
            self.store.folder.mkdir(parents=True, exist_ok=True)
            folder = os.open(self.store.folder, os.O_RDONLY | os.O_DIRECTORY)
            try:
                fcntl.flock(folder, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(folder, fcntl.LOCK_UN)
            finally:
                os.close(folder)

    def _current(self) -> tuple[CorpusIndex, Path]:
        """The index to update: this process's, unless another one published a newer build meanwhile."""
        index = self.index
        if self.store.current() != self._build:
            self._swap(*self._load_or_build())
            index = self.index
        return index, self._build

    def add(self, path: str | Path) -> Article:
        """Add an article file (HTML, PDF, Markdown or text) as an upload; returns its article (the one already
        there when the same content was added before). Raises an UploadError when the file cannot be used."""
        path = Path(path)
        if path.stat().st_size > MAX_FILE_BYTES:
            raise FileTooLarge(f"The file is larger than {MAX_FILE_BYTES // 2**20} MB, the most accepted.")
        return self.add_upload(path.read_bytes(), path.name).article

    def add_upload(self, data: bytes, filename: str) -> Added:
        """Keep `data` in the uploads folder and index it incrementally; `filename` is only a label. When the
        same content (or an article of the same text) is already there, nothing changes and created is False."""
        doc_id = upload_doc_id(content_digest(data))
        try:
            known = self.index.articles.get(doc_id)
        except CorpusError:  # nothing to index yet (an empty articles folder): this upload is the first article
            return self._add_first(data, filename)
        if known is not None:
            return Added(known, False)
        article = read_upload(data, filename, self.parse_seconds)  # may take seconds: outside the lock
        with self._writing():
            index, build = self._current()
            same = index.articles.get(doc_id) or next((a for a in index.articles.values() if a.text == article.text), None)
            if same is not None:
                return Added(same, False)
            if not index.dense.extendable:
                return self._add_by_building(data, filename, article)
            started = time.time()
            punkt = self._punkt(build)
            updated = add_articles(index, [article], punkt, self.embedder)
            existed = self.uploads.find(doc_id) is not None
            had_folder = self.uploads.folder.is_dir()
            staging = self.store.new_build_dir()
            try:
                write_index(updated, staging, punkt)
                entry = self.uploads.save(data, filename, detect_format(data))
                try:
                    manifest = stamped(updated.manifest, self.fingerprint(), started, f"added {doc_id}")
                    build = self.store.publish(staging, manifest)
                except BaseException:
                    if not existed:
                        self.uploads.discard(entry, drop_folder=not had_folder)
                    raise
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            self._swap(replace(updated, manifest=BuildStore.read_manifest(build)), build)
        log.info("added %s (%s) in %.2f s", doc_id, article.title, time.time() - started)
        return Added(self.index.articles[doc_id], True)

    def _add_first(self, data: bytes, filename: str) -> Added:
        """With no article anywhere there is no index to extend: keep the file and build the index in full."""
        article = read_upload(data, filename, self.parse_seconds)
        with self._writing():
            return self._add_by_building(data, filename, article)

    def _add_by_building(self, data: bytes, filename: str, article: Article) -> Added:
        """Keep the file and build the index in full (vectors already made are reused), under the write lock:
        for a first article, and for an index that cannot be copied and extended (`VectorIndex.extendable`)."""
        had_folder = self.uploads.folder.is_dir()
        entry = self.uploads.save(data, filename, detect_format(data))
        try:
            build = build_index(
                self.seeds_dir, self.store, self.embedder, uploads=self.uploads, vector_store=self.vector_store
            )
        except BaseException:
            self.uploads.discard(entry, drop_folder=not had_folder)
            raise
        self._swap(load_index(build), build)
        return Added(self.index.articles[article.doc_id], True)

    def remove(self, doc_id: str) -> None:
        """Remove an uploaded article: its original file and its passages go. SeedArticle for an article of the
        articles folder, UnknownArticle for an id that is not there."""
        with self._writing():
            index, build = self._current()
            article = index.articles.get(doc_id)
            entry = self.uploads.find(doc_id)
            if article is None and entry is None:
                raise UnknownArticle(f"There is no article with the id {doc_id[:100]!r}.")
            if article is not None and article.origin != "upload":
                raise SeedArticle(
                    f"{article.title!r} comes from the articles folder, not from an upload: remove its file "
                    "from that folder instead."
                )
            started = time.time()
            if all(p.doc_id == doc_id for p in index.passages):
                raise LastArticle("This is the only article left; add another before removing it.")
            if not index.dense.extendable:
                self._remove_by_building(entry)
                log.info("removed %s in %.2f s (full build)", doc_id, time.time() - started)
                return
            updated = remove_articles(index, [doc_id]) if article is not None else index
            punkt = self._punkt(build)
            staging = self.store.new_build_dir()
            try:
                write_index(updated, staging, punkt)
                aside = self.uploads.set_aside(entry) if entry is not None else None
                try:
                    manifest = stamped(updated.manifest, self.fingerprint(), started, f"removed {doc_id}")
                    build = self.store.publish(staging, manifest)
                except BaseException:
                    if entry is not None and aside is not None:
                        self.uploads.put_back(entry, aside)
                    raise
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            self._swap(replace(updated, manifest=BuildStore.read_manifest(build)), build)
            if entry is not None:
                self.uploads.discard(entry, aside)
        log.info("removed %s in %.2f s", doc_id, time.time() - started)

    def _remove_by_building(self, entry) -> None:
        """Remove an upload from an index that cannot be copied (`VectorIndex.extendable`): set its file aside,
        build in full, then let it go (or put it back if the build fails)."""
        aside = self.uploads.set_aside(entry) if entry is not None else None
        try:
            build = build_index(
                self.seeds_dir, self.store, self.embedder, uploads=self.uploads, vector_store=self.vector_store
            )
        except BaseException:
            if entry is not None and aside is not None:
                self.uploads.put_back(entry, aside)
            raise
        self._swap(load_index(build), build)
        if entry is not None:
            self.uploads.discard(entry, aside)

    @staticmethod
    def _punkt(build: Path) -> dict:
        from rag.ingest.sentences import load_parameters

        try:
            return load_parameters(build / PUNKT_FILE)
        except (OSError, ValueError) as err:
            raise IndexError_(f"sentence model of the index unreadable: {err}") from err

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
        index = self.index
        query = parse_question(question, (), index).query
        if not query:
            return []
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
        index = self.index  # one index for the whole question, even if another build is swapped in meanwhile
        parsed = parse_question(question, history or (), index)  # the one place the question is parsed
        min_confidence = self.min_confidence if min_confidence is None else min_confidence
        if self.reader is not None:
            return compose_reader_answer(index, self.embedder.encode, parsed, top_k, doc_ids, self.reader, min_confidence)
        return compose_answer(
            index,
            self.embedder.encode,
            parsed,
            top_k or self.top_k,
            doc_ids,
            scorer=scorer or self.scorer,
            min_confidence=min_confidence,
        )
