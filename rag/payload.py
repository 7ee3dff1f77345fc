"""The JSON shapes of hits and answers, shared by the CLI, the HTTP API and the gradio_client API."""

from __future__ import annotations

from dataclasses import asdict


def hit_to_dict(hit) -> dict:
    return {
        "rank": hit.rank,
        "score": hit.score,
        "doc_id": hit.doc_id,
        "title": hit.title,
        "paragraph": hit.paragraph,
        "section": hit.section,
        "url": hit.url,
        "text": hit.text,
    }


def answer_to_dict(answer) -> dict:
    """The JSON shape shared by the CLI and the HTTP API."""
    return {
        "question": answer.question,
        "answer": answer.text,
        "abstained": answer.abstained,
        "confidence": answer.confidence,
        "citations": [
            {k: v for k, v in asdict(c).items() if k != "spans"} for c in answer.citations
        ],
        "short_answer": asdict(answer.short_answer) if answer.short_answer else None,
        "passages": [hit_to_dict(h) for h in answer.passages],
    }
