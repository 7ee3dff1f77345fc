"""Index build and load: articles -> sentences -> passages -> vectors + BM25, cached by content hash."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from rag.build_vectors import PassageVectors, VectorLookup, embed_passages, resolve_sentence_vectors
from rag.chunking import CHUNKER_VERSION, chunk_article
from rag.expansion import neighbours_to_json, rare_word_neighbours, tokenizer_words, word_vectors
from rag.ingest import ARTICLE_SUFFIXES, CLEANING_VERSION, METADATA_FILE, CorpusError, load_articles
from rag.lexical import LexicalIndex
from rag.store import (
    DISK_KINDS,
    FORMAT_VERSION,
    BuildStore,
    IndexError_,
    VectorIndex,
    article_from_dict,
    article_to_dict,
    lexical_tokens,
    passage_from_dict,
    passage_to_dict,
    resolve_dense_kind,
)
from rag.types import Article, Passage
from rag.uploads import UploadStore

log = logging.getLogger(__name__)

INDEX_RECIPE = "text/2+sentence-bm25/tf+neighbours"  # what is embedded and indexed; a change makes builds stale
VECTOR_STORES = ("faiss", "milvus")  # where the passage vectors are searched: FAISS files, or a Milvus collection
VECTOR_STORE_ENV = "RAG_STORE"


def resolve_vector_store(store: str | None = None) -> str:
    """The argument, else $RAG_STORE, else "faiss"; anything else is a ValueError."""
    chosen = (store or os.environ.get(VECTOR_STORE_ENV) or "faiss").strip().lower()
    if chosen not in VECTOR_STORES:
        raise ValueError(f"vector store must be one of {VECTOR_STORES}, not {chosen!r}")
    return chosen


def index_recipe(sentence_vectors: str | None = None) -> str:
    """INDEX_RECIPE, marked when sentence vectors are late-chunked (separate ones are what builds always
    made: an index built before the choice existed stays valid)."""
    late = resolve_sentence_vectors(sentence_vectors) == "late"
    return f"{INDEX_RECIPE}+late-chunked" if late else INDEX_RECIPE

ACRONYM_DEFINITION = re.compile(r"((?:[\w’'-]+[ ,]+){1,10}?[\w’'-]+)\s+\(([A-Z][A-Za-z]{1,7})\)")  # the rule
ACRONYM_MENTION = re.compile(r"(?<=[\w’'-])\s+\(([A-Z][A-Za-z]{1,7})\)")  # where its matches end
LONG_FORM_CHAR = re.compile(r"[\w’' ,-]")
LONG_FORM_MAX_WORDS = 11
MINOR_WORDS = frozenset("and of for the on in to a an at by with &".split())


@dataclass(frozen=True)
class CorpusIndex:
    """Everything a query needs, loaded from one build: immutable, so a rebuild swaps it whole."""

    articles: dict[str, Article]
    passages: tuple[Passage, ...]
    passage_vectors: np.ndarray
    sentence_vectors: np.ndarray  # one row per sentence, passages' sentences in order
    sentence_offsets: np.ndarray  # passage i's sentences are rows sentence_offsets[i]:sentence_offsets[i+1]
    dense: VectorIndex
    lexical: LexicalIndex
    sentence_lexical: LexicalIndex  # BM25 over single sentences, rows as in sentence_vectors
    acronyms: dict[str, str]
    manifest: dict
    metadata_terms: dict[str, frozenset[str]]  # per article: lexical terms of its title, authors, publisher
    metadata_vocabulary: frozenset[str]  # all of those together
    neighbours: dict[str, list[str]] = field(default_factory=dict)  # stem -> corpus stems that embed close to it

    def passage_sentence_rows(self, passage_row: int) -> range:
        return range(int(self.sentence_offsets[passage_row]), int(self.sentence_offsets[passage_row + 1]))

    def passage_of_sentence(self, sentence_row: int) -> int:
        return int(np.searchsorted(self.sentence_offsets, sentence_row, side="right")) - 1

    def best_sentence_similarity(self, rows: list[int], query_vector: np.ndarray) -> np.ndarray:
        """For each passage row, the cosine of its closest sentence to the query."""
        out = np.zeros(len(rows), dtype=np.float32)
        for i, row in enumerate(rows):
            sentence_rows = self.passage_sentence_rows(row)
            if len(sentence_rows):
                out[i] = float(np.max(self.sentence_vectors[sentence_rows.start : sentence_rows.stop] @ query_vector))
        return out


# ---------------------------------------------------------------- pure helpers


def corpus_fingerprint(
    seeds_dir: Path,
    model_id: str,
    uploads: UploadStore | None = None,
    sentence_vectors: str | None = None,
    vector_store: str | None = None,
) -> str:
    """Changes whenever an article file, the metadata, an upload, the cleaning rules, the chunker, the recipe
    (how sentence vectors are made included), the model or the vector store changes."""
    settings = f"{FORMAT_VERSION}|{CLEANING_VERSION}|{CHUNKER_VERSION}|{index_recipe(sentence_vectors)}|{model_id}"
    if resolve_vector_store(vector_store) != "faiss":  # FAISS adds nothing: its builds stay current
        settings += f"|{resolve_vector_store(vector_store)}"
    digest = hashlib.sha256(settings.encode())
    for path in sorted(seeds_dir.iterdir()) if seeds_dir.is_dir() else []:
        if path.is_file() and (path.suffix.lower() in ARTICLE_SUFFIXES or path.name == METADATA_FILE):
            digest.update(path.name.encode() + b"\0")
            try:
                digest.update(path.read_bytes())
            except OSError:
                digest.update(b"<unreadable>")
    uploaded = uploads.fingerprint() if uploads is not None else b""
    if uploaded:  # none: the same fingerprint as before uploads existed, so such builds stay current
        digest.update(b"\0uploads\0" + uploaded)
    return digest.hexdigest()


def passage_embedding_text(article: Article, passage: Passage) -> str:
    """What the dense model reads: the passage alone. Prefixing the title and section was measured (eval,
    dense recall@5 0.917 vs 0.958): it pulls every passage of an article towards its title."""
    return passage.text


def metadata_text(article: Article) -> str:
    return " ".join([article.title, *article.authors, article.publisher])


def passage_lexical_text(article: Article, passage: Passage) -> str:
    return f"{passage.section} {passage.text}"


def acronym_definitions(text: str) -> Iterator[tuple[list[str], str]]:
    """The (words, acronym) pairs of ACRONYM_DEFINITION.finditer(text), found from each "(ACR)" backwards:
    the same matches, but linear in the text (the regex alone retries up to eleven words at every character,
    5 minutes at 100,000 passages)."""
    end = 0
    for mention in ACRONYM_MENTION.finditer(text):
        start = mention.start()
        while start > end and LONG_FORM_CHAR.match(text, start - 1):
            start -= 1
        words = [w for w in re.split(r"[ ,]+", text[start : mention.start()]) if w]
        if len(words) >= 2:  # the regex wants a word, a separator and a last word
            yield words[-LONG_FORM_MAX_WORDS:], mention.group(1)
            end = mention.end()


def mine_acronyms(texts: list[str]) -> dict[str, str]:
    """'Belt and Road Initiative (BRI)' -> {'BRI': 'Belt and Road Initiative'}, checked against the initials."""
    found: dict[str, str] = {}
    for text in texts:
        for words, acronym in acronym_definitions(text):
            initials, used = "", []
            for word in reversed(words):
                used.insert(0, word)
                if word.lower() in MINOR_WORDS:
                    continue
                initials = "".join(p[0] for p in word.split("-") if p) + initials
                if len(initials) >= len(acronym):
                    break
            if initials.upper() == acronym.upper() and used[0][:1].isupper():
                found.setdefault(acronym, " ".join(used))
    return found


# ---------------------------------------------------------------- build


def load_corpus(seeds_dir: Path, uploads: UploadStore | None = None) -> list[Article]:
    """The articles folder's articles, then the uploads (oldest first); ids and texts unique across both."""
    has_uploads = uploads is not None and bool(uploads.entries())
    articles = load_articles(seeds_dir, allow_empty=has_uploads)
    if has_uploads:
        articles += uploads.articles({a.doc_id for a in articles}, {a.text: a.source_name for a in articles})
    if not articles:
        raise CorpusError(f"no usable article in {seeds_dir.name or seeds_dir} or among the uploads")
    return articles


def build_index(
    seeds_dir: Path,
    store: BuildStore,
    embedder,
    progress: bool = False,
    uploads: UploadStore | None = None,
    sentence_vectors: str | None = None,
    ray_address: str | None = None,
    vector_store: str | None = None,
) -> Path:
    """Build the whole index for a folder of articles (and the uploads) into a staging folder, then publish
    it atomically; with `ray_address` ("local" or a cluster's address), as a Ray Data pipeline (rag.ray_build).

    Until `publish` renames the staging folder and swaps the pointer, the previous build stays current: a
    build that fails or is killed at any point leaves it serving (a killed one leaves its staging folder,
    removed by a later build); on Milvus, the collections no build names any more are dropped afterwards."""
    started = time.time()
    mode = resolve_sentence_vectors(sentence_vectors)
    vector_store = resolve_vector_store(vector_store)
    fingerprint = corpus_fingerprint(seeds_dir, embedder.model_id, uploads, mode, vector_store)
    if ray_address and uploads is not None and uploads.entries():
        raise ValueError("a Ray build reads the articles folder only: build without --ray while there are uploads")
    articles = None if ray_address else load_corpus(seeds_dir, uploads)
    if vector_store == "milvus":  # before minutes of embedding: a Milvus that cannot be reached fails at once
        from rag.milvus_store import check_reachable

        check_reachable(store.folder)
    previous = store.current()
    staging = store.new_build_dir()
    try:
        if ray_address:
            from rag.ray_build import write_build_on_ray

            manifest = write_build_on_ray(staging, Path(seeds_dir), embedder, mode, ray_address, vector_store)
        else:
            manifest = write_build(staging, articles, previous, embedder, progress, mode, vector_store)
        manifest.update(
            corpus_hash=fingerprint,
            built_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            build_seconds=round(time.time() - started, 2),
        )
        return store.publish(staging, manifest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        if vector_store == "milvus":  # published or failed, the collections no build names any more go
            from rag.milvus_store import drop_unreferenced

            drop_unreferenced(store.folder)


def chunk_corpus(articles: list[Article], embedder) -> tuple[dict, list[Passage]]:
    """Punkt parameters trained on the corpus, and every article's passages numbered in article order."""
    from rag.embedding import TokenCounter
    from rag.sentences import sentence_spans, tokenizer_from_parameters, train_punkt_parameters

    punkt = train_punkt_parameters(a.text for a in articles)
    splitter = tokenizer_from_parameters(punkt)
    count_tokens = TokenCounter(embedder.model)
    passages: list[Passage] = []
    for article in articles:
        passages += chunk_article(
            article, lambda text: sentence_spans(splitter, text), count_tokens, len(passages), embedder.max_tokens
        )
    return punkt, passages


def write_build(
    staging: Path,
    articles: list[Article],
    previous: Path | None,
    embedder,
    progress: bool,
    sentence_vectors: str | None = None,
    vector_store: str | None = None,
) -> dict:
    """Sentences, passages, vectors (reusing the previous build's), BM25 and FAISS, written into `staging`."""
    mode = resolve_sentence_vectors(sentence_vectors)
    punkt, passages = chunk_corpus(articles, embedder)
    by_id = {a.doc_id: a for a in articles}
    texts = [passage_embedding_text(by_id[p.doc_id], p) for p in passages]
    lookups = [VectorLookup.from_build(previous, name) for name in ("passage", "sentence")]
    vectors = embed_passages(passages, texts, embedder, mode, *lookups, progress=progress)
    return write_artifacts(staging, articles, punkt, passages, vectors, embedder, mode, vector_store)


def write_artifacts(
    staging: Path,
    articles: list[Article],
    punkt: dict,
    passages: list[Passage],
    vectors: PassageVectors,
    embedder,
    mode: str,
    vector_store: str | None = None,
) -> dict:
    """Every file of a build (corpus, Punkt, vectors and their keys, FAISS or a Milvus collection, both BM25s),
    and its manifest."""
    from rag.sentences import save_parameters

    by_id = {a.doc_id: a for a in articles}
    sentence_texts = [p.sentence_text(s) for p in passages for s in p.sentences]
    offsets = np.cumsum([0] + [len(p.sentences) for p in passages]).astype(np.int64)
    corpus = {
        "articles": [article_to_dict(a) for a in articles],
        "passages": [passage_to_dict(p) for p in passages],
        "acronyms": mine_acronyms([a.text for a in articles]),
    }
    (staging / "corpus.json").write_text(json.dumps(corpus, ensure_ascii=False), encoding="utf-8")
    save_parameters(punkt, staging / "punkt.json")
    for name, keys, array in (
        ("passage", vectors.passage_keys, vectors.passages),
        ("sentence", vectors.sentence_keys, vectors.sentences),
    ):
        np.save(staging / f"{name}_vectors.npy", array, allow_pickle=False)
        (staging / f"{name}_keys.json").write_text(json.dumps(list(keys)), encoding="utf-8")
    np.save(staging / "sentence_offsets.npy", offsets, allow_pickle=False)
    on_milvus = resolve_vector_store(vector_store) == "milvus"
    dense = write_dense(staging, passages, on_milvus)
    (staging / "bm25").mkdir()
    lexical = LexicalIndex([lexical_tokens(passage_lexical_text(by_id[p.doc_id], p)) for p in passages])
    lexical.save(staging / "bm25")
    write_neighbours(staging, [p.text for p in passages], lexical.document_frequency, embedder)
    (staging / "bm25_sentences").mkdir()
    LexicalIndex([lexical_tokens(t) for t in sentence_texts]).save(staging / "bm25_sentences")
    manifest = {
        "format_version": FORMAT_VERSION,
        "model_id": embedder.model_id,
        "dimension": int(vectors.passages.shape[1]),
        "chunker_version": CHUNKER_VERSION,
        "index_recipe": index_recipe(mode),
        "sentence_vectors": mode,
        "dense_index": dense.index_kind if on_milvus else dense.kind,
        "served_from": "disk" if dense.kind in DISK_KINDS else "memory",
        "articles": len(articles),
        "passages": len(passages),
        "sentences": len(sentence_texts),
        "embedded_passages": vectors.embedded,
    }
    if on_milvus:  # a FAISS build's manifest stays as it always was
        manifest["vector_store"] = "milvus"
    return manifest


def write_dense(staging: Path, passages: list[Passage], on_milvus: bool):
    """The dense index of the passage vectors just written: a FAISS file, or a new Milvus collection."""
    vectors = np.load(staging / "passage_vectors.npy", mmap_mode="r")
    if on_milvus:
        from rag.milvus_store import MilvusVectorIndex

        return MilvusVectorIndex.create(staging, vectors, passages, resolve_dense_kind())
    dense = VectorIndex(vectors, kind=resolve_dense_kind())
    dense.save(staging / "dense.faiss")
    return dense


def model_word_vectors(embedder) -> tuple[list[str], np.ndarray]:
    """The model's whole words and their vectors, embedded once per model (cached beside its ONNX graph)."""
    words = tokenizer_words(Path(embedder.model))
    cache = Path(embedder.cache_dir) / "words" / re.sub(r"[^\w.@-]", "_", embedder.model_id)
    return words, word_vectors(words, embedder.encode, cache)


def write_neighbours(staging: Path, texts: list[str], document_frequency: dict[str, int], embedder) -> None:
    """Expansion terms for question words the corpus barely uses (rag/expansion.py)."""
    words, vectors = model_word_vectors(embedder)
    neighbours = rare_word_neighbours(texts, document_frequency, words, vectors)
    (staging / "neighbours.json").write_text(neighbours_to_json(neighbours), encoding="utf-8")


def load_index(build: Path, vector_store: str | None = None) -> CorpusIndex:
    """Load and check a published build; any inconsistency, or a build for another `vector_store` than the one
    given, raises IndexError_ (the caller rebuilds)."""
    manifest = BuildStore.read_manifest(build)
    built_for = manifest.get("vector_store", "faiss")
    if vector_store is not None and built_for != vector_store:  # checked first: never a connection to the other
        raise IndexError_(f"built for {built_for}, {vector_store} asked")
    BuildStore.verify(build, manifest)
    try:
        corpus = json.loads((build / "corpus.json").read_text(encoding="utf-8"))
        articles = {a["doc_id"]: article_from_dict(a) for a in corpus["articles"]}
        passages = tuple(passage_from_dict(p) for p in corpus["passages"])
        # served from disk: vectors and BM25 memory-mapped, so the OS pages in what queries touch
        mmap = "r" if manifest.get("served_from") == "disk" else None
        passage_vectors = np.load(build / "passage_vectors.npy", mmap_mode=mmap, allow_pickle=False)
        sentence_vectors = np.load(build / "sentence_vectors.npy", mmap_mode=mmap, allow_pickle=False)
        offsets = np.load(build / "sentence_offsets.npy", allow_pickle=False)
        on_milvus = manifest.get("vector_store") == "milvus"
        dense = None if on_milvus else VectorIndex.load(build / "dense.faiss", vectors=passage_vectors)
        lexical = LexicalIndex.load(build / "bm25", mmap=bool(mmap))
        sentence_lexical = LexicalIndex.load(build / "bm25_sentences", mmap=bool(mmap))
        neighbours = json.loads((build / "neighbours.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as err:
        raise IndexError_(f"index unreadable: {err}") from err
    if on_milvus:  # outside the try: a Milvus that cannot be reached is an error to report, not a reason to rebuild
        from rag.milvus_store import MilvusVectorIndex

        dense = MilvusVectorIndex.load(build)
    if not (len(passages) == len(passage_vectors) == len(dense) == len(lexical) == len(offsets) - 1):
        raise IndexError_("index parts disagree on the number of passages")
    if any(p.passage_id != row for row, p in enumerate(passages)):
        raise IndexError_("passage ids are not their rows")
    metadata_terms = {doc_id: frozenset(lexical_tokens(metadata_text(a))) for doc_id, a in articles.items()}
    sentences_agree = int(offsets[-1]) == len(sentence_vectors) == len(sentence_lexical)
    if not sentences_agree or dense.dimension != manifest["dimension"]:
        raise IndexError_("index parts disagree on sentences or dimension")
    return CorpusIndex(
        articles=articles,
        passages=passages,
        passage_vectors=passage_vectors,
        sentence_vectors=sentence_vectors,
        sentence_offsets=offsets,
        dense=dense,
        lexical=lexical,
        sentence_lexical=sentence_lexical,
        acronyms=dict(corpus.get("acronyms", {})),
        neighbours=neighbours,
        manifest=manifest,
        metadata_terms=metadata_terms,
        metadata_vocabulary=frozenset().union(*metadata_terms.values()),
    )
