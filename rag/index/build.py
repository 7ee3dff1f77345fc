"""Index build: articles -> sentences -> passages -> vectors + BM25, cached by content hash, published atomically."""

from __future__ import annotations

import hashlib
import shutil
import time
from pathlib import Path

from rag.index.artifacts import index_recipe, write_artifacts
from rag.index.build_vectors import VectorLookup, embed_passages, resolve_sentence_vectors
from rag.index.builds import FORMAT_VERSION, BuildStore
from rag.index.corpus_index import resolve_vector_store
from rag.index.recipe import passage_embedding_text
from rag.ingest.articles import ARTICLE_SUFFIXES, CLEANING_VERSION, METADATA_FILE, CorpusError, load_articles
from rag.ingest.chunking import CHUNKER_VERSION, chunk_article
from rag.ingest.uploads import UploadStore
from rag.types import Article, Passage

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
    it atomically; with `ray_address` ("local" or a cluster's address), as a Ray Data pipeline (rag.index.ray_build).

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
        from rag.index.milvus_store import check_reachable

        check_reachable(store.folder)
    previous = store.current()
    staging = store.new_build_dir()
    try:
        if ray_address:
            from rag.index.ray_build import write_build_on_ray

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
            from rag.index.milvus_store import drop_unreferenced

            drop_unreferenced(store.folder)


def chunk_corpus(articles: list[Article], embedder) -> tuple[dict, list[Passage]]:
    """Punkt parameters trained on the corpus, and every article's passages numbered in article order."""
    from rag.index.encoder import TokenCounter
    from rag.ingest.sentences import sentence_spans, tokenizer_from_parameters, train_punkt_parameters

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
