"""The dense index on Milvus (`--store milvus`): milvus-lite in a local file, or a Milvus server or cluster."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from pathlib import Path
from typing import Sequence

import numpy as np

from rag.index.builds import IndexError_
from rag.index.vectors import FLAT_BELOW, IVF_PROBES, ivf_lists
from rag.types import Passage, ScoredRow

log = logging.getLogger(__name__)

URI_ENV = "RAG_MILVUS_URI"
DEFAULT_DB = "milvus.db"  # beside the builds in the index folder: a local path runs milvus-lite in-process
CONFIG_FILE = "dense.milvus.json"
KEYS_FILE = "milvus_keys.npy"
INSERT_BATCH = 2_000  # rows per insert: 3 MB of float32 at 384-d, well under gRPC's 64 MB message limit
MAX_LIMIT = 16_384  # Milvus's largest top-k
DOC_ID_LENGTH = 1_024
CONNECT_SECONDS = 10.0

_CLIENTS: dict[str, object] = {}


class StoreUnavailable(OSError):
    """The Milvus named by RAG_MILVUS_URI cannot be reached or used: `str(err)` is one line a person can act on.
    An OSError, so the CLI prints it without a traceback, and the Assistant does not try to rebuild on it."""


def resolve_uri(index_folder: Path) -> str:
    """$RAG_MILVUS_URI, else milvus-lite in `milvus.db` inside the index folder."""
    return os.environ.get(URI_ENV, "").strip() or str(Path(index_folder) / DEFAULT_DB)


def connect(uri: str):
    """A client for `uri`, one per process and URI (milvus-lite allows one process per data folder and is
    started by the first client; a server keeps one channel)."""
    client = _CLIENTS.get(uri)
    if client is not None:
        return client
    # pymilvus logs every failed call with a traceback at ERROR, and gRPC's core logs reconnections (milvus-lite's
    # server refuses the client's keep-alive pings while a build embeds): our errors carry the message instead
    logging.getLogger("pymilvus").setLevel(logging.CRITICAL)
    os.environ.setdefault("GRPC_VERBOSITY", "NONE")
    try:
        from pymilvus import MilvusClient
    except ImportError as err:
        raise StoreUnavailable("--store milvus needs pymilvus and milvus-lite: pip install '.[scale]'") from err
    try:
        client = MilvusClient(uri=uri, timeout=CONNECT_SECONDS)
    except Exception as err:  # pymilvus raises MilvusException for every failure, with the reason in .message
        raise StoreUnavailable(f"Milvus at {uri} unavailable: {message_of(err)}") from err
    _CLIENTS[uri] = client
    return client


def check_reachable(index_folder: Path) -> None:
    """Connect now (StoreUnavailable if not); the index folder is made only for the default milvus-lite file in it."""
    uri = resolve_uri(index_folder)
    if uri == str(Path(index_folder) / DEFAULT_DB):
        Path(index_folder).mkdir(parents=True, exist_ok=True)
    connect(uri)


def message_of(err: Exception) -> str:
    return " ".join(str(getattr(err, "message", None) or err).split())


def collection_prefix(index_folder: Path) -> str:
    """Collections of one index folder share a prefix, so clearing old ones never touches another folder's
    (or another application's) collections on a shared server."""
    return "rag_" + hashlib.sha1(str(Path(index_folder).resolve()).encode()).hexdigest()[:10] + "_"


def index_params(client, count: int, kind: str):
    """FLAT (exact) below FLAT_BELOW vectors, else IVF_FLAT with FAISS's list count and probes: the same
    candidates as the FAISS index of the same kind (milvus-lite builds both with FAISS)."""
    params = client.prepare_index_params()
    chosen = kind if kind in ("flat", "ivf") else ("flat" if count < FLAT_BELOW else "ivf")
    if chosen == "flat":
        params.add_index(field_name="vector", index_type="FLAT", metric_type="IP")
    else:
        params.add_index(field_name="vector", index_type="IVF_FLAT", metric_type="IP", params={"nlist": ivf_lists(count)})
    return params, chosen


def payload_rows(keys: np.ndarray, vectors: np.ndarray, passages: Sequence[Passage]) -> list[dict]:
    """Rows of the collection: a stable key (never a passage id, which removals renumber), the vector, and
    where the passage is (article, paragraph, offsets), so the collection reads on its own."""
    return [
        {"key": int(k), "vector": v.tolist(), "doc_id": p.doc_id, "paragraph": p.paragraph, "start": p.start, "end": p.end}
        for k, v, p in zip(keys, vectors, passages)
    ]


class MilvusVectorIndex:
    """Inner-product search in one Milvus collection, with VectorIndex's interface. Row r of the corpus is the
    collection's key `keys[r]`: keys only grow, so an older index object sharing the collection drops keys it
    does not know (added since) and simply misses removed ones."""

    kind = "milvus"
    extendable = True  # add and remove change the collection in place

    def __init__(self, uri: str, collection: str, keys: np.ndarray, dimension: int, index_kind: str):
        self.uri, self.collection, self.dimension, self.index_kind = uri, collection, dimension, index_kind
        self.keys = np.asarray(keys, dtype=np.int64)

    # ------------------------------------------------------------ build, load, save

    @classmethod
    def create(cls, staging: Path, vectors: np.ndarray, passages: Sequence[Passage], kind: str = "auto") -> "MilvusVectorIndex":
        """A new collection holding `vectors` (rows in order), named in `staging` before it exists so that
        `drop_unreferenced` never takes a collection under construction for a leftover."""
        folder = staging.parent
        uri = resolve_uri(folder)
        client = connect(uri)
        from pymilvus import DataType, MilvusClient

        name = collection_prefix(folder) + uuid.uuid4().hex[:12]
        keys = np.arange(len(vectors), dtype=np.int64)
        dimension = int(vectors.shape[1])
        params, chosen = index_params(client, len(vectors), kind)
        self = cls(uri, name, keys, dimension, chosen)
        self.save(staging)
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("key", DataType.INT64, is_primary=True)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
        schema.add_field("doc_id", DataType.VARCHAR, max_length=DOC_ID_LENGTH)
        for field in ("paragraph", "start", "end"):
            schema.add_field(field, DataType.INT64)
        try:
            # Strong: a search sees every row inserted before it (the default, Bounded, may not on a server)
            client.create_collection(name, schema=schema, consistency_level="Strong")
            self._write(client, keys, vectors, passages, client.insert)
            client.flush(name)
            # not sync: pymilvus then polls with AllocTimestamp, which milvus-lite lacks; load waits for the index
            client.create_index(name, params, sync=False)
            client.load_collection(name)
        except Exception as err:
            raise StoreUnavailable(f"Milvus at {uri}: writing collection {name} failed: {message_of(err)}") from err
        return self

    def _write(self, client, keys, vectors, passages, method) -> None:
        for start in range(0, len(keys), INSERT_BATCH):
            end = start + INSERT_BATCH
            batch = np.ascontiguousarray(vectors[start:end], dtype=np.float32)  # a memory map is read a batch at a time
            method(self.collection, payload_rows(keys[start:end], batch, passages[start:end]))

    def save(self, folder: Path) -> None:
        config = {"collection": self.collection, "dimension": self.dimension, "index": self.index_kind}
        (folder / CONFIG_FILE).write_text(json.dumps(config), encoding="utf-8")
        np.save(folder / KEYS_FILE, self.keys, allow_pickle=False)

    @classmethod
    def load(cls, build: Path) -> "MilvusVectorIndex":
        """The index a build names, on the Milvus of $RAG_MILVUS_URI. StoreUnavailable when that cannot be
        reached; IndexError_ (the caller rebuilds) when the collection is missing or not the build's."""
        try:
            config = json.loads((build / CONFIG_FILE).read_text(encoding="utf-8"))
            keys = np.load(build / KEYS_FILE, allow_pickle=False)
            name, dimension = str(config["collection"]), int(config["dimension"])
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise IndexError_(f"Milvus settings of the index unreadable: {err}") from err
        uri = resolve_uri(build.parent)
        client = connect(uri)
        try:
            if not client.has_collection(name):
                raise IndexError_(f"collection {name} missing from Milvus at {uri}")
            fields = {f["name"]: f for f in client.describe_collection(name)["fields"]}
            if int(fields.get("vector", {}).get("params", {}).get("dim", -1)) != dimension:
                raise IndexError_(f"collection {name} in Milvus at {uri} is not this index's")
            client.load_collection(name)
        except IndexError_:
            raise
        except Exception as err:
            raise StoreUnavailable(f"Milvus at {uri}: collection {name} unusable: {message_of(err)}") from err
        return cls(uri, name, keys, dimension, str(config.get("index", "flat")))

    # ------------------------------------------------------------ queries

    def __len__(self) -> int:
        return len(self.keys)

    def search(self, query: np.ndarray, k: int) -> list[ScoredRow]:
        """The k best rows for one query vector, best first. Keys this index does not know (rows another
        process added since it loaded) are dropped and the search widened until k known rows are found."""
        k = min(k, len(self))
        if k <= 0:
            return []
        query = np.asarray(query, dtype=np.float32).reshape(-1)
        if len(query) != self.dimension:
            raise ValueError(f"query has dimension {len(query)}, index has {self.dimension}")
        client = connect(self.uri)
        params = {"metric_type": "IP", "params": {"nprobe": IVF_PROBES}}
        limit = k
        while True:
            try:
                found = client.search(
                    self.collection, data=[query.tolist()], limit=limit, anns_field="vector",
                    output_fields=["key"], search_params=params,
                )[0]
            except Exception as err:
                raise StoreUnavailable(f"Milvus at {self.uri}: search failed: {message_of(err)}") from err
            found_keys = np.array([hit["key"] for hit in found], dtype=np.int64)
            rows = np.minimum(np.searchsorted(self.keys, found_keys), len(self.keys) - 1)
            known = self.keys[rows] == found_keys
            if known.sum() >= k or len(found) < limit or limit >= MAX_LIMIT:
                break
            limit = min(MAX_LIMIT, 2 * limit)
        hits = [ScoredRow(int(r), float(h["distance"])) for r, h, ok in zip(rows, found, known) if ok]
        return hits[:k]

    # ------------------------------------------------------------ updates (rag.index.incremental)
    # They write to the shared collection at once and return a new object; this one keeps its keys.

    def extended(self, vectors: np.ndarray, passages: Sequence[Passage] = ()) -> "MilvusVectorIndex":
        """A copy with `vectors` appended as rows len(self), …; upserted, so keys an unpublished update left
        behind are overwritten rather than duplicated."""
        first = int(self.keys[-1]) + 1 if len(self.keys) else 0
        added = np.arange(first, first + len(vectors), dtype=np.int64)
        if len(vectors) != len(passages):
            raise ValueError("a Milvus index needs the passages of the vectors it adds")
        if len(added):
            client = connect(self.uri)
            try:
                self._write(client, added, vectors, passages, client.upsert)
                client.flush(self.collection)
            except Exception as err:
                raise StoreUnavailable(f"Milvus at {self.uri}: adding to {self.collection} failed: {message_of(err)}") from err
        return self._with(np.concatenate([self.keys, added]))

    def without_rows(self, keep: np.ndarray, kept_vectors: np.ndarray | None = None) -> "MilvusVectorIndex":
        """A copy without the rows where `keep` is false (their keys deleted); the rest keep their keys."""
        keep = np.asarray(keep, dtype=bool)
        gone = self.keys[~keep]
        if len(gone):
            client = connect(self.uri)
            try:
                client.delete(self.collection, ids=[int(k) for k in gone])
                client.flush(self.collection)
            except Exception as err:
                raise StoreUnavailable(f"Milvus at {self.uri}: removing from {self.collection} failed: {message_of(err)}") from err
        return self._with(self.keys[keep])

    def _with(self, keys: np.ndarray) -> "MilvusVectorIndex":
        return type(self)(self.uri, self.collection, keys, self.dimension, self.index_kind)


def referenced_collections(folder: Path) -> set[str]:
    """Collections named by the builds in an index folder, published or being staged."""
    names = set()
    for config in [*folder.glob(f"build-*/{CONFIG_FILE}"), *folder.glob(f".tmp-build-*/{CONFIG_FILE}")]:
        try:
            names.add(str(json.loads(config.read_text(encoding="utf-8"))["collection"]))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return names


def drop_unreferenced(folder: Path) -> list[str]:
    """Drop this index folder's collections that no build names any more (superseded or failed builds). A
    failure only logs: the build stands, and the next one tries again."""
    folder = Path(folder)
    prefix, keep = collection_prefix(folder), referenced_collections(folder)
    try:
        client = connect(resolve_uri(folder))
        dropped = [name for name in client.list_collections() if name.startswith(prefix) and name not in keep]
        for name in dropped:
            client.drop_collection(name)
    except Exception as err:  # StoreUnavailable, or pymilvus's MilvusException
        log.warning("old Milvus collections not dropped: %s", message_of(err))
        return []
    if dropped:
        log.info("dropped Milvus collections of superseded builds: %s", ", ".join(dropped))
    return dropped
