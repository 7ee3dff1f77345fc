"""The index build as a Ray Data pipeline (read -> clean -> chunk -> embed), for a cluster or a local Ray.

`python -m rag index --ray ADDRESS` (or $RAY_ADDRESS; "local" starts Ray on this machine). Files are read and
cleaned by Ray tasks; ids, duplicate texts and the Punkt model are settled on the driver, in file-name order
(each needs the whole corpus); passages are chunked and embedded by actor pools, one ONNX encoder per actor
and one thread per encoder. The driver then writes the same files as a plain build (rag.index.artifacts.write_artifacts):
the same passages, the same vectors (to float rounding), the same BM25. Ray is imported only here, and only
the index command imports this module.

On a cluster the articles folder must be readable at the same path on every node (a shared file system), and
every node needs this package with its `scale` extra installed; the exported ONNX graph is shipped to the
actors through the object store, so the nodes need no torch.
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import replace
from pathlib import Path

import numpy as np

from rag.index.build_vectors import PassageVectors, content_key, embed_passages, relative_spans, sentence_key
from rag.index.builds import article_from_dict, article_to_dict, passage_from_dict, passage_to_dict
from rag.ingest.articles import accept_articles, article_files, article_from_bytes, read_metadata_file
from rag.types import Article, Passage

log = logging.getLogger(__name__)

RAY_ADDRESS_ENV = "RAY_ADDRESS"
LOCAL = "local"
# A local Ray on a small machine: an object store of 256 MB (Ray's default takes 30% of RAM), no dashboard,
# no usage statistics (they would try the network).
LOCAL_OBJECT_STORE_BYTES = 256 * 1024**2
EMBED_BATCH = 256  # passages per map_batches call: the encoder sorts them by length and runs 16 at a time
CHUNK_BATCH = 16  # articles per chunking call


def ray_address(given: str | None) -> str | None:
    """The --ray argument, else $RAY_ADDRESS, else None (a plain build)."""
    return given or os.environ.get(RAY_ADDRESS_ENV) or None


def connect(address: str):
    """ray, initialised: a new local Ray for "local", else the cluster at `address`. Returns (ray, started)."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import ray
    except ImportError as err:  # a clear message from the CLI, not a traceback
        raise ValueError("--ray needs Ray Data: pip install '.[scale]'") from err

    if ray.is_initialized():
        return ray, False
    from rag.index.encoder import cpu_count

    if address == LOCAL:
        os.environ.pop(RAY_ADDRESS_ENV, None)  # "local" means a new Ray here, not the one the variable names
        ray.init(
            num_cpus=cpu_count(), object_store_memory=LOCAL_OBJECT_STORE_BYTES, include_dashboard=False,
            log_to_driver=False, configure_logging=False,
        )
    else:
        ray.init(address=address, log_to_driver=False, configure_logging=False)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    for name in ("ray", "ray.data"):  # Ray Data logs every execution plan at INFO
        logging.getLogger(name).setLevel(logging.WARNING)
    return ray, True


# ---------------------------------------------------------------- the stages (run on Ray workers)


def clean_files(batch: dict, metadata: dict) -> dict:
    """Ray task: raw files -> cleaned articles (JSON; "" for a file that is no article)."""
    from rag.ingest.articles import SourceMetadata

    out = []
    for data, path in zip(batch["bytes"], batch["path"]):
        name = Path(str(path)).name
        given = SourceMetadata(**metadata[name]) if name in metadata else None
        article = article_from_bytes(bytes(data), name, given)
        out.append(json.dumps(article_to_dict(article), ensure_ascii=False) if article else "")
    return {"name": [Path(str(p)).name for p in batch["path"]], "article": out}


class ChunkArticles:
    """Ray actor: articles -> passages (numbered within their article), with the corpus's Punkt model."""

    def __init__(self, punkt: dict, model: str, max_tokens: int):
        from rag.index.encoder import TokenCounter
        from rag.ingest.sentences import sentence_spans, tokenizer_from_parameters

        splitter = tokenizer_from_parameters(punkt)
        self.split = lambda text: sentence_spans(splitter, text)  # noqa: E731
        self.count_tokens, self.max_tokens = TokenCounter(model), max_tokens

    def __call__(self, batch: dict) -> dict:
        from rag.index.recipe import passage_embedding_text
        from rag.ingest.chunking import chunk_article

        orders, numbers, passages, texts = [], [], [], []
        for order, data in zip(batch["order"], batch["article"]):
            article = article_from_dict(json.loads(str(data)))
            for n, passage in enumerate(chunk_article(article, self.split, self.count_tokens, 0, self.max_tokens)):
                orders.append(int(order))
                numbers.append(n)
                passages.append(json.dumps(passage_to_dict(passage), ensure_ascii=False))
                texts.append(passage_embedding_text(article, passage))
        return {"order": orders, "number": numbers, "passage": passages, "text": texts}


class EmbedPassages:
    """Ray actor holding one ONNX encoder (one thread: the pool, not the encoder, spreads over the cores)."""

    def __init__(self, model: str, backend: str, cache_dir: str, graph, mode: str):
        from rag.index.embedder import Embedder
        from rag.index.encoder import THREADS_ENV

        os.environ[THREADS_ENV] = "1"
        if graph is not None:  # a node without the exported graph gets the driver's (no torch needed there)
            import ray

            path, data = graph
            if not Path(path).is_file():
                install_file(Path(path), ray.get(data))
        self.embedder = Embedder(model=model, backend=backend, cache_dir=cache_dir)
        self.embedder.warm_up()
        self.mode = mode

    def __call__(self, batch: dict) -> dict:
        passages = [passage_from_dict(json.loads(str(p))) for p in batch["passage"]]
        vectors = embed_passages(passages, [str(t) for t in batch["text"]], self.embedder, self.mode)
        offsets = np.cumsum([0] + [len(p.sentences) for p in passages])
        sentences = [vectors.sentences[offsets[i] : offsets[i + 1]].tobytes() for i in range(len(passages))]
        return {**batch, "passage_vector": list(vectors.passages), "sentence_vectors": sentences}


def install_file(path: Path, data: bytes) -> None:
    """Write a file atomically unless it is already there (another actor of the node may be writing it too)."""
    if path.is_file():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


# ---------------------------------------------------------------- the driver


def read_articles(ray, seeds_dir: Path) -> list[Article]:
    """Read and clean every file on Ray; ids and duplicates are settled here, in file-name order."""
    from dataclasses import asdict

    files = article_files(seeds_dir)
    if not files:
        return accept_articles([], seeds_dir.name)
    metadata = {name: asdict(m) for name, m in read_metadata_file(seeds_dir).items()}
    cleaned = ray.data.read_binary_files([str(p) for p in files], include_paths=True).map_batches(
        clean_files, fn_kwargs={"metadata": metadata}, batch_size=CHUNK_BATCH
    )
    by_name = {row["name"]: row["article"] for row in cleaned.take_all()}
    candidates = (article_from_dict(json.loads(by_name[p.name])) if by_name.get(p.name) else None for p in files)
    return accept_articles(candidates, seeds_dir.name)


def pool(ray, size: int | None = None):
    cores = int(ray.cluster_resources().get("CPU", 1))
    return ray.data.ActorPoolStrategy(size=max(1, size or cores))


def chunk_and_embed(ray, articles: list[Article], punkt: dict, embedder, mode: str) -> tuple[list[Passage], PassageVectors]:
    """Passages of every article (numbered in article order, as a plain build numbers them) and their vectors."""
    items = [{"order": i, "article": json.dumps(article_to_dict(a), ensure_ascii=False)} for i, a in enumerate(articles)]
    cores = int(ray.cluster_resources().get("CPU", 1))
    blocks = max(1, min(len(items), max(2 * cores, math.ceil(len(items) / CHUNK_BATCH))))
    chunked = ray.data.from_items(items, override_num_blocks=blocks).map_batches(
        ChunkArticles, fn_constructor_kwargs={"punkt": punkt, "model": embedder.model, "max_tokens": embedder.max_tokens},
        batch_size=CHUNK_BATCH, compute=pool(ray), num_cpus=1,
    )
    # every core to the chunkers, then every core to the encoders (an actor pool holds its cores until it is
    # done, so a repartition between the two would wait for cores forever); blocks enough to feed every actor
    passages_total = sum(len(a.paragraphs) for a in articles)
    chunked = chunked.repartition(max(1, math.ceil(passages_total / EMBED_BATCH))).materialize()
    embedded = chunked.map_batches(
        EmbedPassages,
        fn_constructor_kwargs={
            "model": embedder.model, "backend": embedder.backend, "cache_dir": str(embedder.cache_dir),
            "graph": shipped_graph(ray, embedder), "mode": mode,
        },
        batch_size=EMBED_BATCH, compute=pool(ray), num_cpus=1,
    )
    rows = sorted(embedded.take_all(), key=lambda r: (int(r["order"]), int(r["number"])))
    passages, texts, passage_vectors, sentence_vectors = [], [], [], []
    for row_number, row in enumerate(rows):
        passage = passage_from_dict(json.loads(str(row["passage"])))
        passages.append(replace(passage, passage_id=row_number))
        texts.append(str(row["text"]))
        passage_vectors.append(np.asarray(row["passage_vector"], dtype=np.float32))
        sentence_vectors.append(np.frombuffer(row["sentence_vectors"], dtype=np.float32).reshape(-1, len(passage_vectors[-1])))
    dimension = embedder.dimension
    return passages, PassageVectors(
        passages=np.vstack(passage_vectors) if passage_vectors else np.zeros((0, dimension), np.float32),
        sentences=np.vstack(sentence_vectors) if sentence_vectors else np.zeros((0, dimension), np.float32),
        passage_keys=tuple(content_key(t) for t in texts),
        sentence_keys=tuple(sentence_key(mode, t, s) for t, p in zip(texts, passages) for s in relative_spans(p)),
        embedded=len(passages),
    )


def shipped_graph(ray, embedder):
    """(path, object ref of the bytes) of the exported ONNX graph, for actors on nodes that lack it; None for
    the torch backend (every node then needs torch)."""
    if embedder.backend == "torch":
        return None
    embedder.warm_up()
    path = embedder.graph_path
    return (str(path), ray.put(path.read_bytes())) if path else None


def write_build_on_ray(
    staging: Path, seeds_dir: Path, embedder, mode: str, address: str, vector_store: str | None = None
) -> dict:
    """A whole build on Ray, written into `staging` by the same writer as a plain build."""
    from rag.index.artifacts import write_artifacts
    from rag.ingest.sentences import train_punkt_parameters

    ray, started = connect(address)
    try:
        articles = read_articles(ray, Path(seeds_dir))
        punkt = train_punkt_parameters(a.text for a in articles)  # needs the whole corpus: on the driver
        passages, vectors = chunk_and_embed(ray, articles, punkt, embedder, mode)
        log.info("ray build: %d articles, %d passages", len(articles), len(passages))
        manifest = write_artifacts(staging, articles, punkt, passages, vectors, embedder, mode, vector_store)
        manifest["built_on"] = "ray:" + ("local" if address == LOCAL else "cluster")
        return manifest
    finally:
        if started:
            ray.shutdown()
