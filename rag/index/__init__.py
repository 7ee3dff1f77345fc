"""Index: articles in, a loaded `CorpusIndex` out. `build.build_index` chunks the articles, embeds passages
and sentences (`embedder`, `encoder`, `onnx_export`, `late_chunking`, `build_vectors`), writes both BM25s
(`lexical`, `tokens`), the dense index (`vectors`, `disk_index`, `milvus_store`) and the expansion words
(`expansion`) as a build (`artifacts`), published atomically (`builds`); `incremental` adds and removes
articles without a full build and `ray_build` spreads a build over a Ray cluster.
`corpus_index.load_index` gives the read side a query needs. Knows nothing of questions or answers."""
