"""Extractive, cited question answering over a folder of news articles (FAISS + BM25, no LLM, no network)."""

from rag.assistant import Assistant
from rag.types import Answer, Article, Citation, Hit, Paragraph, Passage, Span

__all__ = ["Answer", "Article", "Assistant", "Citation", "Hit", "Paragraph", "Passage", "Span"]
