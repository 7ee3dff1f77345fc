"""BM25 over stemmed tokens, kept as term frequencies so passages can be added and removed in place.

Scores are those of bm25s's "lucene" method (Kamphuis et al., ECIR 2020), which this replaces and which the
tests use as the reference. bm25s stores each posting's score already multiplied by the corpus-wide idf and
divided by the average length, both of which every added passage changes, and it has no way to add a
document (bm25s issue #5): updating it meant tokenising and indexing every passage again, 18 s at 100,000
passages and 300,000 sentences here. This index keeps raw term frequencies and passage lengths, so adding
an article inserts its postings and recomputes the scores with vector arithmetic (see `extended`)."""

from __future__ import annotations

import bisect
import json
from collections import Counter
from pathlib import Path
from typing import Sequence

import numpy as np

from rag.types import ScoredRow

K1, B = 1.2, 0.75


# ---------------------------------------------------------------- formulas (one per function, as in bm25s)


def lucene_idf(document_frequency: np.ndarray, documents: int) -> np.ndarray:
    """ln(1 + (N - df + 0.5) / (df + 0.5)): never negative (Lucene; Kamphuis et al. 2020, table 1)."""
    df = document_frequency.astype(np.float64)
    return np.log(1.0 + (documents - df + 0.5) / (df + 0.5)).astype(np.float32)


def term_frequency_component(tf: np.ndarray, lengths: np.ndarray, average: float, k1: float, b: float) -> np.ndarray:
    """tf / (tf + k1 (1 - b + b |d| / avgdl)), in float64 as bm25s computes it."""
    return tf / (k1 * ((1 - b) + b * lengths.astype(np.float64) / average) + tf)


# ---------------------------------------------------------------- the index


class LexicalIndex:
    """BM25 over rows of tokens: a term -> rows sparse matrix (CSC) of term frequencies, with each posting's
    score precomputed so a query only sums the postings of its terms."""

    def __init__(self, token_lists: Sequence[Sequence[str]] = (), k1: float = K1, b: float = B):
        self.k1, self.b = k1, b
        terms: dict[str, int] = {}
        postings_term, postings_row, postings_tf = [], [], []
        lengths = np.zeros(len(token_lists), dtype=np.int64)
        for row, tokens in enumerate(token_lists):
            lengths[row] = max(len(tokens), 1)  # an empty row counts one (empty) token, as in bm25s
            for term, count in Counter(tokens).items():
                if term:
                    postings_term.append(terms.setdefault(term, len(terms)))
                    postings_row.append(row)
                    postings_tf.append(count)
        columns = np.asarray(postings_term, dtype=np.int64)
        order = np.argsort(columns, kind="stable")  # by term, rows ascending within a term
        self._set(
            list(terms),
            np.concatenate([[0], np.cumsum(np.bincount(columns, minlength=len(terms)))]).astype(np.int64),
            np.asarray(postings_row, dtype=np.int32)[order],
            np.asarray(postings_tf, dtype=np.float32)[order],
            lengths,
        )

    def _set(self, terms: list[str], indptr: np.ndarray, rows: np.ndarray, tf: np.ndarray, lengths: np.ndarray) -> None:
        self.terms, self.indptr, self.rows, self.tf, self.lengths = terms, indptr, rows, tf, lengths
        self.size = len(lengths)
        self.column = {term: i for i, term in enumerate(terms)}
        frequency = np.diff(indptr)
        self.document_frequency: dict[str, int] = dict(zip(terms, frequency.tolist()))
        self._vocabulary = None
        if self.size and len(rows):
            idf = lucene_idf(frequency, self.size)
            per_posting = np.repeat(idf, frequency)
            average = float(lengths.mean())
            tfc = term_frequency_component(self.tf, lengths[rows], average, self.k1, self.b)
            self.scores_data = (per_posting * tfc).astype(np.float32)
        else:
            self.scores_data = np.zeros(0, dtype=np.float32)

    @classmethod
    def _from_parts(cls, terms, indptr, rows, tf, lengths, k1: float, b: float) -> "LexicalIndex":
        self = cls.__new__(cls)
        self.k1, self.b = k1, b
        self._set(terms, indptr, rows, tf, lengths)
        return self

    def __len__(self) -> int:
        return self.size

    # ------------------------------------------------------------ updates (new objects; this one is unchanged)

    def extended(self, token_lists: Sequence[Sequence[str]]) -> "LexicalIndex":
        """This index with rows appended (numbered from len(self)): their postings are inserted at the end of
        each term's column, new terms get new columns, and every score is recomputed for the new N and avgdl."""
        added = LexicalIndex(token_lists, self.k1, self.b)
        terms = list(self.terms)
        column = dict(self.column)
        for term in added.terms:
            column.setdefault(term, len(terms))
            if len(terms) == column[term]:
                terms.append(term)
        added_columns = np.repeat(np.array([column[t] for t in added.terms], dtype=np.int64), np.diff(added.indptr))
        order = np.argsort(added_columns, kind="stable")
        added_columns = added_columns[order]
        old_ends = np.concatenate([self.indptr[1:], np.full(len(terms) - len(self.terms), self.indptr[-1])])
        positions = old_ends[added_columns]  # after each term's existing postings (new rows sort last)
        per_term = np.bincount(added_columns, minlength=len(terms))
        old_counts = np.concatenate([np.diff(self.indptr), np.zeros(len(terms) - len(self.terms), dtype=np.int64)])
        indptr = np.concatenate([[0], np.cumsum(old_counts + per_term)]).astype(np.int64)
        rows = np.insert(self.rows, positions, (added.rows[order] + self.size).astype(np.int32))
        tf = np.insert(self.tf, positions, added.tf[order])
        return LexicalIndex._from_parts(terms, indptr, rows, tf, np.concatenate([self.lengths, added.lengths]), self.k1, self.b)

    def without_rows(self, keep: np.ndarray) -> "LexicalIndex":
        """This index with only the rows where `keep` (a boolean mask) is true, renumbered in order."""
        keep = np.asarray(keep, dtype=bool)
        counts = np.diff(self.indptr)
        posting_columns = np.repeat(np.arange(len(self.terms)), counts)
        kept = keep[self.rows]
        new_row = np.cumsum(keep) - 1
        remaining = np.bincount(posting_columns[kept], minlength=len(self.terms))
        alive = remaining > 0
        terms = [t for t, a in zip(self.terms, alive.tolist()) if a]
        indptr = np.concatenate([[0], np.cumsum(remaining[alive])]).astype(np.int64)
        rows = new_row[self.rows[kept]].astype(np.int32)
        return LexicalIndex._from_parts(terms, indptr, rows, self.tf[kept], self.lengths[keep], self.k1, self.b)

    # ------------------------------------------------------------ queries

    def known_form(self, term: str) -> str:
        """A term the corpus uses for one it does not, when they share a stem the stemmer missed
        ("overtak" -> "overtaken"); otherwise the term itself."""
        if term in self.document_frequency or len(term) < 5 or term.isdigit():
            return term
        vocabulary = self._sorted_vocabulary()
        i = bisect.bisect_left(vocabulary, term)
        longer = [v for v in vocabulary[i : i + 20] if v.startswith(term) and len(v) - len(term) <= 3]
        if longer:
            return max(longer, key=lambda v: self.document_frequency[v])
        shorter = [term[:n] for n in range(len(term) - 1, 4, -1) if term[:n] in self.document_frequency]
        return shorter[0] if shorter else term

    def _sorted_vocabulary(self) -> list[str]:
        if self._vocabulary is None:
            self._vocabulary = sorted(self.document_frequency)
        return self._vocabulary

    def idf(self, term: str) -> float:
        """Lucene's BM25 idf, ln(1 + (N - df + 0.5) / (df + 0.5)) (Robertson & Zaragoza 2009, as in Lucene)."""
        df = self.document_frequency.get(term, 0)
        return float(np.log(1 + (self.size - df + 0.5) / (df + 0.5)))

    def scores(self, tokens: Sequence[str]) -> np.ndarray:
        """BM25 score of every row for the query tokens (zeros when none is in the vocabulary); a token
        given twice counts twice, as in bm25s."""
        out = np.zeros(self.size, dtype=np.float32)
        for term in (self.known_form(t) for t in tokens):
            column = self.column.get(term)
            if column is not None:
                start, end = self.indptr[column], self.indptr[column + 1]
                out[self.rows[start:end]] += self.scores_data[start:end]  # rows are unique within a term
        return out

    def search(
        self, tokens: Sequence[str], k: int, expansion: Sequence[str] = (), expansion_weight: float = 0.5
    ) -> list[ScoredRow]:
        """The k best rows; `expansion` terms (words the query did not use) add their BM25 score, weighted."""
        scores = self.scores(tokens)
        if expansion:
            scores = scores + expansion_weight * self.scores(expansion)
        k = min(k, self.size)
        if k <= 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k] if k < self.size else np.arange(self.size)
        top = sorted(top, key=lambda r: (-scores[r], r))
        return [ScoredRow(int(r), float(scores[r])) for r in top if scores[r] > 0]

    # ------------------------------------------------------------ on disk

    ARRAYS = ("indptr", "rows", "tf", "lengths", "scores_data")

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for name in self.ARRAYS:
            np.save(folder / f"{name}.npy", getattr(self, name), allow_pickle=False)
        params = {"k1": self.k1, "b": self.b, "rows": self.size, "terms": self.terms}
        (folder / "lexical.json").write_text(json.dumps(params, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, mmap: bool = False) -> "LexicalIndex":
        """A saved index; with `mmap` its arrays are memory-mapped, so the OS pages in the postings queries touch."""
        params = json.loads((folder / "lexical.json").read_text(encoding="utf-8"))
        mode = "r" if mmap else None
        arrays = {name: np.load(folder / f"{name}.npy", mmap_mode=mode, allow_pickle=False) for name in cls.ARRAYS}
        self = cls.__new__(cls)
        self.k1, self.b = float(params["k1"]), float(params["b"])
        self.terms, self.indptr, self.rows, self.tf, self.lengths = (
            list(params["terms"]), arrays["indptr"], arrays["rows"], arrays["tf"], arrays["lengths"]
        )
        self.size = int(params["rows"])
        if len(self.lengths) != self.size or len(self.indptr) != len(self.terms) + 1 or len(self.rows) != len(self.tf):
            raise ValueError("lexical index parts disagree")
        self.column = {term: i for i, term in enumerate(self.terms)}
        self.document_frequency = dict(zip(self.terms, np.diff(self.indptr).tolist()))
        self.scores_data = arrays["scores_data"]
        self._vocabulary = None
        return self
