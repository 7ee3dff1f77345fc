"""Train: labelled questions in, shipped models out (never on the query path). `fitting` fits the answer
scorer (`python -m rag fit`, scikit-learn) with `selection`'s forward feature selection; `reader_train`
fine-tunes the reader (torch, transformers), `reader_export` writes it as quantised ONNX and `reader_fit`
runs the whole `python -m rag train-reader`."""
