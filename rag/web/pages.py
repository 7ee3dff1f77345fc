"""Article pages: the article list and one article with numbered paragraphs, from Jinja2 templates."""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path
from typing import Mapping

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, Response

from rag.types import Article
from rag.web.markup import MAX_QUOTE_CHARS, render

PAGE_HEADERS = {
    # Defence in depth: even if some text slipped through unescaped, no script could run on the page.
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; font-src 'self'; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
}
FONT_FILES = ("SourceSansPro-Regular.woff2", "SourceSansPro-Bold.woff2")  # static/fonts.css names them


@lru_cache(maxsize=1)
def font_folder() -> Path | None:
    """Gradio's copy of Source Sans Pro (a dependency of the app; found without importing it)."""
    spec = importlib.util.find_spec("gradio")
    if spec is None or not spec.origin:
        return None
    folder = Path(spec.origin).parent / "templates" / "frontend" / "static" / "fonts" / "SourceSansPro"
    return folder if folder.is_dir() else None


def render_article_page(article: Article, quote: str = "") -> str:
    """Numbered paragraphs with id="p<n>" anchors, a heading wherever the section changes, the quote marked."""
    return render("article.html", title=article.title, article=article, quote=quote[:MAX_QUOTE_CHARS])


def render_article_index(articles: Mapping[str, Article]) -> str:
    ordered = sorted(articles.values(), key=lambda a: a.title.lower())
    return render("article_list.html", title="Articles", articles=ordered)


def render_not_found() -> str:
    return render("not_found.html", title="Not found")


def page_response(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=PAGE_HEADERS)


def add_page_routes(app: FastAPI, assistant) -> None:
    @app.get("/assets/fonts/{name}")
    def font(name: str):
        folder = font_folder()
        if name not in FONT_FILES or folder is None or not (folder / name).is_file():
            return Response(status_code=404)  # the pages then fall back to the system's sans-serif
        return FileResponse(
            folder / name, media_type="font/woff2", headers={"Cache-Control": "public, max-age=604800"}
        )

    @app.get("/articles", response_class=HTMLResponse)
    def article_index():
        return page_response(render_article_index(assistant.articles))

    # `:path` so that ids with "/" (or decoded "%2e%2e%2f") reach this check instead of other routes
    @app.get("/articles/{doc_id:path}", response_class=HTMLResponse)
    def article_view(doc_id: str, q: str = ""):
        if not doc_id:
            return article_index()
        article = assistant.articles.get(doc_id)  # only ids of the corpus are served: no file access at all
        if article is None:
            return page_response(render_not_found(), 404)
        return page_response(render_article_page(article, q))
