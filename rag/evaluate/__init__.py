"""Evaluate: an `Assistant` and labelled questions in, figures out. `evaluation` scores the news dev set,
`squad` SQuAD-format files, `labelled` turns both into `LabelledQuestion`s, `held_out` runs `rag eval` and
`rag eval --squad` with each article scored by a fit that never saw it, `calibration` measures confidence
(ECE, AUC, the reliability diagram)."""
