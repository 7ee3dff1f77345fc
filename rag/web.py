"""Web layer: a FastAPI app with /api/ask and /articles/<id>, and a Gradio 6 chat mounted at /."""

from __future__ import annotations

import calendar
import html
import json
import logging
import re
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any, Iterable, Iterator, Mapping, Sequence
from urllib.parse import quote as url_quote
from urllib.parse import urlencode, urlsplit

import gradio as gr
import httpx
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from rag.payload import answer_to_dict
from rag.types import Answer, Article, Citation, Hit

log = logging.getLogger(__name__)

DEFAULT_TOP_K = 5
MAX_TOP_K = 20  # the REST/API limit; the UI slider stops at 10
MAX_HISTORY = 50
MAX_QUOTE_CHARS = 1000  # keeps citation links (and the regex work they cause) small
MIN_QUOTE_PIECE = 3  # shorter pieces of a quote would mark every "a" and "of"
EXAMPLES = (
    "Why did China ban Japanese seafood?",
    "What did Kishida and Xi agree on at the APEC summit?",
    "What is a mutually beneficial relationship based on common strategic interests?",
)
ARTICLE_HEADERS = {
    # Defence in depth: even if some text slipped through unescaped, no script could run on the page.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
}

ANSWER_FAILED = "Sorry, something went wrong while answering. The details are in the server log."

esc = html.escape  # quote=True: safe inside attribute values as well as text
DOT = " \u00b7 "


class BadRequest(ValueError):
    """Input the caller has to fix; its message is safe to show to them."""


# ---------------------------------------------------------------- requests


@dataclass(frozen=True)
class AskRequest:
    question: str
    history: tuple[str, ...] = ()
    top_k: int = DEFAULT_TOP_K


def parse_ask_request(payload: Any) -> AskRequest:
    """Check a decoded JSON body (or API call) field by field; raise BadRequest naming what is wrong."""
    if not isinstance(payload, dict):
        raise BadRequest("the body must be a JSON object")
    question = payload.get("question")
    if not isinstance(question, str) or not question.strip():
        raise BadRequest("'question' must be a non-empty string")
    history = payload.get("history")
    history = [] if history is None else history
    if not isinstance(history, list) or not all(isinstance(h, str) for h in history):
        raise BadRequest("'history' must be a list of strings")
    if len(history) > MAX_HISTORY:
        raise BadRequest(f"'history' must have at most {MAX_HISTORY} questions")
    top_k = payload.get("top_k", DEFAULT_TOP_K)
    # bool is an int subclass; `true` is not a passage count
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= MAX_TOP_K:
        raise BadRequest(f"'top_k' must be an integer from 1 to {MAX_TOP_K}")
    return AskRequest(question, tuple(history), top_k)


def answer_payload(assistant, request: AskRequest) -> dict:
    answer = assistant.ask(request.question, history=list(request.history), top_k=request.top_k)
    return answer_to_dict(answer)


def error_response(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


# ---------------------------------------------------------------- filters


def parse_day(value: Any, label: str) -> date | None:
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])  # the picker may append a time
    except ValueError:
        raise BadRequest(f"'{label}' must be a date like 2024-05-24") from None


FROM_LABEL, UNTIL_LABEL = "Published from", "Published until"
PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


def article_period(article: Article) -> tuple[date, date] | None:
    """The days an article's date covers: "2017-07" is all of July 2017 (sources give months or years too)."""
    match = PARTIAL_DATE.match(article.date.strip())
    if not match:
        return None
    year, month, day = (int(g) if g else None for g in match.groups())
    try:
        if day is not None:
            return date(year, month, day), date(year, month, day)
        if month is not None:
            return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
        return date(year, 1, 1), date(year, 12, 31)
    except (ValueError, calendar.IllegalMonthError):  # "2024-13-45"
        return None


def overlaps(period: tuple[date, date] | None, start: date | None, end: date | None) -> bool:
    return period is not None and (start is None or period[1] >= start) and (end is None or period[0] <= end)


def filter_doc_ids(
    articles: Mapping[str, Article], selected: Iterable[str] | None, date_from: Any = None, date_to: Any = None
) -> set[str] | None:
    """The doc ids the filters allow, or None when nothing is filtered. Undated articles fail any date range."""
    start, end = parse_day(date_from, FROM_LABEL), parse_day(date_to, UNTIL_LABEL)
    if start and end and start > end:
        raise BadRequest(f"'{FROM_LABEL}' is after '{UNTIL_LABEL}'")
    chosen = set(selected or ()) & set(articles) if selected else None
    if start is None and end is None:
        return chosen
    pool = set(articles) if chosen is None else chosen
    return {d for d in pool if overlaps(article_period(articles[d]), start, end)}


def date_summary(articles: Mapping[str, Article]) -> str:
    periods = sorted(p for p in map(article_period, articles.values()) if p)
    if not periods:
        return "No article has a known date."
    first, last = periods[0][0], max(p[1] for p in periods)
    return (
        f"Dates known for {len(periods)} of {len(articles)} articles ({first} to {last}); "
        "undated articles are left out when a range is set."
    )


# ---------------------------------------------------------------- quotes and highlighting

QUOTE_BREAK = re.compile(r"\s*(?:\[?(?:\u2026|\.\.\.)\]?)\s*")  # where a quote skips text
QUOTE_TRIM = " \"'\u201c\u201d\u2018\u2019"


def quote_pieces(quote: str) -> list[str]:
    pieces = (p.strip(QUOTE_TRIM) for p in QUOTE_BREAK.split(quote[:MAX_QUOTE_CHARS]))
    return [p for p in pieces if len(p) >= MIN_QUOTE_PIECE]


def merge_ranges(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def quote_ranges(text: str, quote: str) -> list[tuple[int, int]]:
    """Where the pieces of a quote occur in text; white space may differ (the quote may be re-flowed)."""
    ranges = []
    for piece in quote_pieces(quote or ""):
        pattern = r"\s+".join(map(re.escape, piece.split()))
        ranges += [m.span() for m in re.finditer(pattern, text)]
    return merge_ranges(ranges)


def highlight(text: str, quote: str = "") -> str:
    """Escaped text with the quoted stretches wrapped in <mark>."""
    out, pos = [], 0
    for start, end in quote_ranges(text, quote):
        out += [esc(text[pos:start]), "<mark>", esc(text[start:end]), "</mark>"]
        pos = end
    out.append(esc(text[pos:]))
    return "".join(out)


# ---------------------------------------------------------------- links


def with_quote(url: str, quote: str) -> str:
    """The article-view URL with the quote to highlight as ?q=, before the #p fragment."""
    if not quote:
        return url
    path, sep, fragment = url.partition("#")
    return f"{path}?{urlencode({'q': quote[:MAX_QUOTE_CHARS]})}{sep}{fragment}"


def article_url(doc_id: str) -> str:
    return f"/articles/{url_quote(doc_id, safe='')}"


def safe_external_url(url: str) -> str:
    """Only http(s) links leave the app; a javascript: or data: "URL" from a metadata file is not linked."""
    try:
        parts = urlsplit(url or "")
    except ValueError:
        return ""
    return url if parts.scheme in ("http", "https") and parts.netloc else ""


def external_link(url: str, label: str) -> str:
    safe = safe_external_url(url)
    if safe:
        return f'<a class="rag-external" href="{esc(safe)}" target="_blank" rel="noopener noreferrer">{esc(label)}</a>'
    return f'<span class="rag-external">{esc(url)}</span>' if url else ""


# ---------------------------------------------------------------- chat messages


@dataclass(frozen=True)
class Source:
    """What a source card shows, from a Citation or (for abstentions) a retrieved passage."""

    label: str
    doc_id: str
    title: str
    paragraph: int
    url: str
    text: str
    quote: str
    score: float

    @classmethod
    def from_citation(cls, c: Citation) -> Source:
        return cls(f"[{c.number}]", c.doc_id, c.title, c.paragraph, c.url, c.text, c.quote, c.score)

    @classmethod
    def from_hit(cls, number: int, h: Hit) -> Source:
        return cls(f"{number}.", h.doc_id, h.title, h.paragraph, h.url, h.text, "", h.score)


def byline(article: Article | None, paragraph: int, score: float) -> str:
    fields = []
    if article is not None:
        fields += [", ".join(article.authors), article.publisher, article.date]
    fields += [f"paragraph {paragraph}", f"score {score:.2f}"]
    return DOT.join(esc(f) for f in fields if f)


def source_card(source: Source, article: Article | None) -> str:
    view = with_quote(source.url, source.quote)
    original = external_link(article.url, "original article") if article is not None else ""
    label = f"open paragraph {source.paragraph} in the article"
    links = f'<a class="rag-open" href="{esc(view)}" target="_blank">{label}</a>'
    return (
        f'<li class="rag-source"><div class="rag-source-head"><span class="rag-num">{esc(source.label)}</span> '
        f"<strong>{esc(source.title)}</strong></div>"
        f'<div class="rag-byline">{byline(article, source.paragraph, source.score)}</div>'
        f'<blockquote class="rag-passage">{highlight(source.text, source.quote)}</blockquote>'
        f'<div class="rag-links">{DOT.join(x for x in (links, original) if x)}</div></li>'
    )


OPEN_PANEL = '<details class="rag-sources" open>'
CLOSED_PANEL = '<details class="rag-sources">'


def sources_panel(heading: str, sources: Sequence[Source], articles: Mapping[str, Article]) -> str:
    if not sources:
        return ""
    cards = "".join(source_card(s, articles.get(s.doc_id)) for s in sources)
    return (
        f'{OPEN_PANEL}<summary>{esc(heading)} ({len(sources)})</summary>'
        f'<ol class="rag-source-list">{cards}</ol></details>'
    )


MARKERS = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")  # [1], [1, 3]


def cite_anchor(citation: Citation) -> str:
    href = with_quote(citation.url, citation.quote)
    tip = f"{citation.title}, paragraph {citation.paragraph}"
    return f'<a class="rag-cite" href="{esc(href)}" target="_blank" title="{esc(tip)}">{citation.number}</a>'


def marker_html(numbers: str, citations: Mapping[int, Citation]) -> str | None:
    """One [n] or [n, m] marker as links, or None when it names no citation (then it stays text)."""
    cited = [citations.get(int(n)) for n in numbers.split(",")]
    if not all(cited):
        return None
    return "[" + ", ".join(cite_anchor(c) for c in cited) + "]"


def linked_text(text: str, citations: Sequence[Citation]) -> str:
    """Escaped answer text whose [n] markers link to the cited paragraphs."""
    by_number = {c.number: c for c in citations}
    out, pos = [], 0
    for match in MARKERS.finditer(text):
        link = marker_html(match.group(1), by_number)
        if link is not None:
            out += [esc(text[pos : match.start()]), link]
            pos = match.end()
    out.append(esc(text[pos:]))
    return "<br>".join("".join(out).splitlines())  # the answer's own line breaks, kept visible


def notice_html(message: str, kind: str = "rag-notice", role: str = "note") -> str:
    return f'<div class="{kind}" role="{role}">{esc(message)}</div>'


def answer_html(answer: Answer, articles: Mapping[str, Article]) -> str:
    """The bot message: the answer with linked markers and its sources, or a notice and related passages."""
    if answer.abstained:
        text = linked_text(answer.text, answer.citations) or "The articles do not answer this question."
        related = [Source.from_hit(i, h) for i, h in enumerate(answer.passages, 1)]
        return (
            f'<div class="rag-abstain" role="note"><strong>No answer found in the articles.</strong> {text}</div>'
            + sources_panel("Related passages", related, articles)
        )
    sources = [Source.from_citation(c) for c in answer.citations]
    return (
        f'<div class="rag-answer">{linked_text(answer.text, answer.citations)}</div>'
        f'<div class="rag-confidence">confidence {answer.confidence:.0%}</div>'
        + sources_panel("Sources", sources, articles)
    )


def fold(text: Any) -> Any:
    return text.replace(OPEN_PANEL, CLOSED_PANEL) if isinstance(text, str) else text


def collapse_panels(message: dict) -> dict:
    """An earlier turn with its sources folded, so the newest answer stands out.

    Gradio hands messages back with content as a list of {"type": "text", "text": ...} parts."""
    content = message.get("content")
    if isinstance(content, list):
        content = [{**part, "text": fold(part.get("text"))} if isinstance(part, dict) else part for part in content]
    return {**message, "content": fold(content)}


def user_message(question: str) -> dict:
    # Wrapped in a <div> so markdown leaves the escaped text alone (no headings from "#", no links).
    return {"role": "user", "content": f'<div class="rag-question">{esc(question)}</div>'}


def bot_message(content_html: str) -> dict:
    # One line: a blank line (say, inside a passage) would end markdown's HTML block and let it re-format the rest.
    return {"role": "assistant", "content": " ".join(content_html.splitlines())}


def reply_html(assistant, question: str, history: Sequence[str], top_k: Any, selected, date_from, date_to) -> str:
    """The bot message for one question; failures become a message, never a traceback."""
    try:
        doc_ids = filter_doc_ids(assistant.articles, selected, date_from, date_to)
        if doc_ids is not None and not doc_ids:
            return notice_html("No article matches the article and date filters; widen them and ask again.")
        answer = assistant.ask(question, history=list(history), top_k=int(top_k), doc_ids=doc_ids)
        return answer_html(answer, assistant.articles)
    except BadRequest as err:
        return notice_html(str(err))
    except Exception:
        log.exception("answering %r failed", question)
        return notice_html(ANSWER_FAILED, "rag-error", "alert")


# ---------------------------------------------------------------- article view

PAGE_CSS = """
body { font: 17px/1.6 Georgia, 'Times New Roman', serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem;
       color: #1f2328; background: #fff; }
header { border-bottom: 1px solid #d0d7de; margin-bottom: 1.5rem; }
h1 { line-height: 1.25; margin: .3rem 0 .6rem; }
h2 { font-size: 1.2rem; margin-top: 2rem; }
.nav, .meta, .pn, .rag-external { font: 14px/1.5 system-ui, sans-serif; }
.meta { display: flex; flex-wrap: wrap; gap: .2rem 1.2rem; margin: 0 0 .5rem; color: #57606a; }
.meta dt { display: inline; font-weight: 600; } .meta dt::after { content: ": "; }
.meta dd { display: inline; margin: 0; }
header > .rag-external { display: inline-block; margin-bottom: 1rem; }
main p { position: relative; padding: .3rem .6rem; margin: 0 -.6rem 1rem; border-radius: 6px; scroll-margin-top: 4rem; }
main p:target { background: #fff8c5; box-shadow: inset 4px 0 0 #d4a72c; }
.pn { color: #8c959f; text-decoration: none; margin-right: .4rem; }
mark { background: #ffd33d; padding: 0 .1em; }
ol.notes, ul.articles { font-size: .95rem; }
"""


def html_page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{PAGE_CSS}</style></head><body>{body}</body></html>"
    )


NAV = '<p class="nav"><a href="/">\u2190 Ask a question</a> \u00b7 <a href="/articles">All articles</a></p>'


def article_header(article: Article) -> str:
    fields = (("By", ", ".join(article.authors)), ("Publisher", article.publisher), ("Date", article.date))
    meta = "".join(f"<div><dt>{esc(k)}</dt><dd>{esc(v)}</dd></div>" for k, v in fields if v)
    original = external_link(article.url, "Original article \u2197")
    return f'<header>{NAV}<h1>{esc(article.title)}</h1><dl class="meta">{meta}</dl>{original}</header>'


def article_body(article: Article, quote: str) -> str:
    """Numbered paragraphs with id="p<n>" anchors and a heading wherever the section changes."""
    parts, section = [], ""
    for p in article.paragraphs:
        if p.section and p.section != section:
            parts.append(f"<h2>{esc(p.section)}</h2>")
        section = p.section
        number = f'<a class="pn" href="#p{p.number}" title="paragraph {p.number}">{p.number}</a>'
        parts.append(f'<p id="p{p.number}">{number}{highlight(article.paragraph_text(p), quote)}</p>')
    return "<main>" + "".join(parts) + "</main>"


def footnotes_html(footnotes: Sequence[str]) -> str:
    if not footnotes:
        return ""
    return '<h2>Notes</h2><ol class="notes">' + "".join(f"<li>{esc(n)}</li>" for n in footnotes) + "</ol>"


def render_article_page(article: Article, quote: str = "") -> str:
    body = article_header(article) + article_body(article, quote) + footnotes_html(article.footnotes)
    return html_page(article.title, body)


def render_article_index(articles: Mapping[str, Article]) -> str:
    items = "".join(
        f'<li><a href="{esc(article_url(a.doc_id))}">{esc(a.title)}</a> '
        f'<span class="meta">{esc(DOT.join(x for x in (", ".join(a.authors), a.date) if x))}</span></li>'
        for a in sorted(articles.values(), key=lambda a: a.title.lower())
    )
    return html_page("Articles", f'{NAV}<h1>Articles</h1><ul class="articles">{items}</ul>')


def not_found_page() -> str:
    return html_page("Not found", f"{NAV}<h1>Article not found</h1><p>There is no article with that id.</p>")


def page_response(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=ARTICLE_HEADERS)


# ---------------------------------------------------------------- FastAPI routes


def add_api_routes(app: FastAPI, assistant) -> None:
    @app.post("/api/ask")
    async def api_ask(request: Request):
        try:
            payload = json.loads(await request.body())
        except (ValueError, RecursionError):  # bad JSON, bad UTF-8 or absurd nesting
            return error_response(400, "the body must be a JSON object")
        try:
            ask = parse_ask_request(payload)
        except BadRequest as err:
            return error_response(422, str(err))
        try:
            return JSONResponse(await run_in_threadpool(answer_payload, assistant, ask))
        except Exception:
            log.exception("answering %r failed", ask.question)
            return error_response(500, "the question could not be answered; the details are in the server log")


def add_article_routes(app: FastAPI, assistant) -> None:
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
            return page_response(not_found_page(), 404)
        return page_response(render_article_page(article, q[:MAX_QUOTE_CHARS]))


# ---------------------------------------------------------------- Gradio UI

CHAT_CSS = """
.rag-answer { line-height: 1.6; }
a.rag-cite { font-size: .85em; font-weight: 600; text-decoration: none; padding: 0 .1em; }
.rag-confidence { font-size: .85em; opacity: .7; margin-top: .3rem; }
.rag-abstain, .rag-notice { border-left: 4px solid #d97706; background: rgba(245, 158, 11, .12);
  padding: .5rem .75rem; border-radius: 6px; }
.rag-error { border-left: 4px solid #dc2626; background: rgba(239, 68, 68, .12);
  padding: .5rem .75rem; border-radius: 6px; }
details.rag-sources { margin-top: .6rem; }
details.rag-sources summary { cursor: pointer; font-weight: 600; }
ol.rag-source-list { list-style: none; padding: 0; margin: .4rem 0 0; }
li.rag-source { border: 1px solid rgba(128, 128, 128, .3); border-radius: 8px; padding: .5rem .7rem; margin: .5rem 0; }
.rag-num { font-weight: 700; margin-right: .2rem; }
.rag-byline, .rag-links { font-size: .85em; opacity: .8; }
blockquote.rag-passage { margin: .4rem 0; padding-left: .6rem; border-left: 3px solid rgba(128, 128, 128, .4);
  font-size: .92em; }
blockquote.rag-passage mark { background: #ffe066; color: #111; }
"""


def article_choices(articles: Mapping[str, Article]) -> list[tuple[str, str]]:
    """(label, doc_id) pairs for the filter; the id is added where two articles share a title."""
    titles = [a.title for a in articles.values()]
    return sorted(
        ((a.title if titles.count(a.title) == 1 else f"{a.title} ({a.doc_id})"), a.doc_id) for a in articles.values()
    )


def make_respond(assistant):
    def respond(message, chat, questions, top_k, selected, date_from, date_to):
        """Show the question at once, then the answer; earlier questions feed `ask(history=...)`."""
        question = " ".join(str(message or "").split())
        if not question:
            yield message, chat, questions
            return
        chat = [*map(collapse_panels, chat or []), user_message(question)]
        yield "", chat, questions
        reply = reply_html(assistant, question, questions or [], top_k, selected, date_from, date_to)
        yield "", [*chat, bot_message(reply)], [*(questions or []), question]

    return respond


def make_api_ask(assistant):
    def ask(question: str, history: list[str] | None = None, top_k: int = DEFAULT_TOP_K) -> dict:
        """Answer a question from the articles: {question, answer, abstained, confidence, citations, passages}."""
        try:
            request = parse_ask_request({"question": question, "history": history or [], "top_k": top_k})
        except BadRequest as err:
            raise gr.Error(str(err)) from None
        return answer_payload(assistant, request)

    return ask


def build_blocks(assistant) -> gr.Blocks:
    articles = assistant.articles
    with gr.Blocks(title="Ask the articles", analytics_enabled=False) as blocks:
        gr.Markdown("## Ask the articles\nAnswers quote the articles; click a number to read the passage in context.")
        questions = gr.State([])  # the raw earlier questions: the chat itself only holds escaped HTML
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    label="Conversation", show_label=False, height=620, elem_id="rag-chat", latex_delimiters=[],
                    feedback_options=None, buttons=[], placeholder="Ask a question about the articles.",
                )
                with gr.Row():
                    box = gr.Textbox(
                        placeholder="Ask a question\u2026", show_label=False, scale=5, elem_id="rag-question"
                    )
                    send = gr.Button("Ask", variant="primary", scale=1, elem_id="rag-ask")
                    clear = gr.Button("New conversation", scale=1)
                gr.Examples(examples=[[e] for e in EXAMPLES], inputs=[box], label="Examples")
            with gr.Column(scale=1, min_width=260):
                top_k = gr.Slider(1, 10, value=DEFAULT_TOP_K, step=1, label="Passages to consider")
                chosen = gr.Dropdown(
                    choices=article_choices(articles), multiselect=True, label="Only these articles",
                    info="Leave empty to search all articles.",
                )
                date_from = gr.DateTime(include_time=False, type="string", label=FROM_LABEL)
                date_to = gr.DateTime(include_time=False, type="string", label=UNTIL_LABEL)
                gr.Markdown(esc(date_summary(articles)))
                gr.HTML(f'<a href="/articles" target="_blank">Browse all {len(articles)} articles</a>')
        inputs = [box, chatbot, questions, top_k, chosen, date_from, date_to]
        respond = make_respond(assistant)
        for event in (box.submit, send.click):
            event(respond, inputs, [box, chatbot, questions], api_visibility="private")
        clear.click(lambda: ("", [], []), None, [box, chatbot, questions], api_visibility="private")
        chatbot.clear(lambda: [], None, [questions], api_visibility="private")
        gr.api(make_api_ask(assistant), api_name="ask")
    return blocks


def create_app(assistant) -> FastAPI:
    """The whole web app; its own routes are added before Gradio takes over everything else under /."""
    app = FastAPI(title="Ask the articles", docs_url=None, redoc_url=None, openapi_url=None)
    add_api_routes(app, assistant)
    add_article_routes(app, assistant)
    blocks = build_blocks(assistant)
    # show_error=False: an unexpected exception reaches the browser as a bare "Error", never its text
    return gr.mount_gradio_app(app, blocks, path="/", css=CHAT_CSS, show_error=False, footer_links=["api"])


# ---------------------------------------------------------------- running in the background (tests, scripts)


def wait_until_serving(url: str, deadline: float) -> None:
    while True:
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} does not answer")
        time.sleep(0.1)


@contextmanager
def serve_in_background(app: FastAPI, host: str = "127.0.0.1", port: int = 0, timeout: float = 60.0) -> Iterator[str]:
    """Run the app with uvicorn on a thread and yield its base URL once / answers; port 0 picks a free port."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="rag-web", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the web server did not start")
        time.sleep(0.05)
    url = f"http://{host}:{server.servers[0].sockets[0].getsockname()[1]}"
    try:
        wait_until_serving(url + "/", deadline)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
