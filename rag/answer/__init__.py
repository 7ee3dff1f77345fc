"""Answer: a `Question` and a `CorpusIndex` in, an `Answer` out. `question.parse_question` reads the question
once (cleaned text, terms, answer type, focus, the follow-up resolved); `retrieval` finds passages (dense +
BM25, fused); `compose` scores their sentences (`features`, `scoring`), picks and cites them, finds the short
answer (`short_answer`) or abstains; `reader` and `reader_compose` are the trained reader's way to the same
`Answer`. Only onnxruntime, numpy and faiss: nothing of the build or of training."""
