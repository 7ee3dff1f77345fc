"""The chat page: Gradio Blocks with the conversation, the filters and the gradio_client API."""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import gradio as gr

from rag.types import Answer, Article, Citation, Hit
from rag.web.api import DEFAULT_TOP_K, answer_payload, parse_ask_request
from rag.web.filters import FROM_LABEL, UNTIL_LABEL, BadRequest, date_summary, filter_doc_ids
from rag.web.markup import DOT, highlight_pieces, safe_external_url, with_quote

log = logging.getLogger(__name__)

EXAMPLES = (
    "Why did China ban Japanese seafood?",
    "What did Kishida and Xi agree on at the APEC summit?",
    "What is a mutually beneficial relationship based on common strategic interests?",
)
ANSWER_FAILED = "Sorry, something went wrong while answering. The details are in the server log."
esc = html.escape


def highlight(text: str, quote: str = "") -> str:
    return "".join(f"<mark>{esc(p)}</mark>" if m else esc(p) for p, m in highlight_pieces(text, quote))


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


