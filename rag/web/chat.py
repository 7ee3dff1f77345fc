"""The chat page: Gradio Blocks with the conversation, the sources panel, the search options and the /ask API."""

from __future__ import annotations

import logging
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping, Sequence

import gradio as gr

from rag.answer.question import MAX_QUESTION_CHARS
from rag.types import Article
from rag.web.access import TOKEN_ENV, WriteAccess
from rag.web.api import DEFAULT_TOP_K, answer_payload, parse_ask_request
from rag.web.conversation import ANSWER_FAILED, NO_ARTICLE_MATCHES, Turn, render_conversation
from rag.web.filters import (
    FROM_LABEL,
    UNTIL_LABEL,
    BadDate,
    BadRequest,
    corpus_period,
    date_summary,
    filter_doc_ids,
    read_filters,
)
from rag.web.library import add_files, remove_article, render_article_list, token_refusal
from rag.web.markup import render

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
EXAMPLES = (
    "Why did China ban Japanese seafood?",
    "What did Kishida and Xi agree on at the APEC summit?",
    "What is a mutually beneficial relationship based on common strategic interests?",
)
MIN_PASSAGES, MAX_PASSAGES = 1, 10  # the chat's range for "Passages to consider" (the REST API allows 20)
PASSAGES_LABEL = f"Passages to consider ({MIN_PASSAGES}\u2013{MAX_PASSAGES})"

# Under the question box: empty_question.js says there what is wrong (an empty question); a live region from the start,
# so that the message is read out when it appears.
COMPOSER_NOTE = '<p class="rag-composer-note" role="status" aria-live="polite"></p>'

# A native date input: labelled, limited to the corpus's dates (so its picker opens there).
DATE_TEMPLATE = (
    '<label class="rag-date"><span class="rag-date-label">${field}</span>'
    '<input type="date" min="${min}" max="${max}" aria-describedby="${error}"></label>'
)
DATE_JS = """
const input = element.querySelector('input');
const read = () => { props.value = input.validity.badInput ? 'not a date' : input.value; };
input.addEventListener('change', read);
input.addEventListener('input', read);
if (input.value) read();  // typed before this ran
// the server set the value: "" from New chat empties the field (the template does not show the value)
watch('value', () => { if (!props.value && input.value) input.value = ''; });
element.dataset.bound = 'true';  // on the component, which a redraw of the template (new limits) keeps
"""


@lru_cache(maxsize=None)
def static_text(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


# ---------------------------------------------------------------- reading the controls


def clamp_passages(value: Any) -> tuple[int, str]:
    """The passage count to use, and a note for the reader when what they typed was out of range or no number."""
    try:
        number = int(round(float(value)))
    except (TypeError, ValueError, OverflowError):
        return DEFAULT_TOP_K, f"\u201cPassages to consider\u201d was not a number; {DEFAULT_TOP_K} were used."
    clamped = min(max(number, MIN_PASSAGES), MAX_PASSAGES)
    if clamped != number:
        return clamped, (
            f"\u201cPassages to consider\u201d goes from {MIN_PASSAGES} to {MAX_PASSAGES}: "
            f"{number} was read as {clamped}."
        )
    return clamped, ""


def read_question(message: Any) -> tuple[str, str]:
    """The question as it will be answered (white space collapsed, cut to its first 2,000 characters) and a note."""
    text = " ".join(str(message or "").split())
    if len(text) > MAX_QUESTION_CHARS:
        return text[:MAX_QUESTION_CHARS], (
            f"Your question had {len(text):,} characters; only its first {MAX_QUESTION_CHARS:,} were used."
        )
    return text, ""


DATE_FIELDS = {FROM_LABEL: "rag-date-from", UNTIL_LABEL: "rag-date-to"}  # label: elem_id


def field_error_html(field: str, message: str = "") -> str:
    """The message slot under one date field (an alert region from the start, so a message is read out when
    it appears); with a message, field_error.js marks the field invalid and brings it into view."""
    return render("field_error.html", id=f"{DATE_FIELDS[field]}-error", message=message, field=field)


def field_errors(err: BadDate | None = None) -> tuple[str, str]:
    """The slots under "Published from" and "Published until", the message in the one it names."""
    return tuple(field_error_html(f, str(err) if err is not None and err.field == f else "") for f in DATE_FIELDS)


# ---------------------------------------------------------------- answering


def answer_turn(assistant, pending: Turn, history: Sequence[str], top_k: int, doc_ids) -> Turn:
    """The pending turn with its answer, or with a notice; failures become a message, never a traceback."""
    if doc_ids is not None and not doc_ids:
        return replace(pending, notice=NO_ARTICLE_MATCHES)
    try:
        answer = assistant.ask(pending.question, history=list(history), top_k=top_k, doc_ids=doc_ids)
    except Exception:
        log.exception("answering %r failed", pending.question)
        return replace(pending, notice=ANSWER_FAILED, error=True)
    return replace(pending, answer=answer)


def make_respond(assistant):
    def respond(message, turns, top_k, selected, date_from, date_to):
        """Show the question at once, then the answer; earlier questions feed `ask(history=...)`.

        Yields (question box, conversation HTML, turns, passages, the messages under the two date fields,
        options panel)."""
        turns = list(turns or [])
        articles = assistant.articles
        question, cut_note = read_question(message)
        if not question:  # empty_question.js keeps an empty Ask in the browser; this is the server's own guard
            yield gr.skip(), gr.skip(), turns, gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        try:
            filters = read_filters(articles, selected, date_from, date_to)
            doc_ids = filter_doc_ids(articles, selected, date_from, date_to)
        except BadDate as err:  # a field message; the question stays in the box for another try
            page = render_conversation(turns, articles)
            yield message, page, turns, gr.skip(), *field_errors(err), gr.Accordion(open=True)
            return
        passages, passages_note = clamp_passages(top_k)
        pending = Turn(question, notes=tuple(n for n in (cut_note, passages_note) if n), filters=filters)
        yield "", render_conversation([*turns, pending], articles), turns, passages, *field_errors(), gr.skip()
        history = [t.question for t in turns if t.question]  # not the page's own messages
        done = answer_turn(assistant, pending, history, passages, doc_ids)
        answered = [*turns, done]
        yield "", render_conversation(answered, articles), answered, passages, gr.skip(), gr.skip(), gr.skip()

    return respond


# ---------------------------------------------------------------- adding and removing articles


# What corpus_view gives, in its order: the page's parts that depend on which articles exist.
CORPUS_OUTPUTS = ("header", "article filter", "date from", "date to", "dates line", "article list", "articles section")


def status_html(message: str) -> str:
    return render("upload_status.html", message=message)


def corpus_view(articles: Mapping[str, Article], access: WriteAccess, selected: Sequence[str] | None = None) -> tuple:
    """Everything on the page that depends on which articles exist: the header's count, the article filter
    (with `selected`: what was chosen, less any article gone), the date fields' limits, the dates line, the list with its
    Remove buttons and the section's label. Sent on every page load (assistant.articles follows the
    published build, whoever published it) and after every add or remove; see CORPUS_OUTPUTS."""
    choices = article_choices(articles)
    kept = {} if selected is None else {"value": [d for d in selected if d in articles]}
    return (
        render("header.html", count=len(articles)),
        gr.Dropdown(choices=choices, multiselect=True, **kept),  # a page load leaves what is chosen as it is
        gr.HTML(**date_props(FROM_LABEL, articles)),  # every prop: an update replaces the template's props
        gr.HTML(**date_props(UNTIL_LABEL, articles)),
        date_summary(articles),
        render_article_list(articles, access.possible),
        gr.Accordion(label=library_label(articles, access)),
    )


def after_change(assistant, access: WriteAccess, turns: list[Turn], selected: Sequence[str] | None = None) -> tuple:
    """What changes on the page once the articles changed: the log, and what corpus_view gives."""
    articles = assistant.articles
    return (render_conversation(turns, articles), turns, *corpus_view(articles, access, selected))


def make_add(assistant, access: WriteAccess):
    unchanged = (gr.skip(),) * len(CORPUS_OUTPUTS)

    def add(paths, token, turns, selected):
        """Read and index each file, with a progress line; then a message naming each new article.

        Yields (progress line, the file control, then what after_change gives)."""
        turns = list(turns or [])
        paths = [p for p in (paths or []) if p]
        if not paths:
            yield (gr.skip(),) * (4 + len(CORPUS_OUTPUTS))
            return
        refusal = token_refusal(access, token)
        if refusal:
            yield ("", None, *after_change(assistant, access, [*turns, Turn("", notice=refusal)], selected))
            return
        for progress, turn in add_files(assistant, paths):
            if turn is None:
                yield (status_html(progress), gr.skip(), gr.skip(), gr.skip(), *unchanged)
            else:
                turns = [*turns, turn]
                yield ("", gr.skip(), render_conversation(turns, assistant.articles), turns, *unchanged)
        yield ("", None, *after_change(assistant, access, turns, selected))

    return add


def make_remove(assistant, access: WriteAccess):
    def remove(token, turns, selected, event: gr.EventData):
        turns = list(turns or [])
        doc_id = str((event._data or {}).get("doc_id", ""))
        refusal = token_refusal(access, token)
        turn = Turn("", notice=refusal) if refusal else remove_article(assistant, doc_id)
        return after_change(assistant, access, [*turns, turn], selected)

    return remove


def make_api_ask(assistant):
    def ask(question: str, history: list[str] | None = None, top_k: int = DEFAULT_TOP_K) -> dict:
        """Answer a question from the articles: {question, answer, abstained, confidence, citations, passages}."""
        try:
            request = parse_ask_request({"question": question, "history": history or [], "top_k": top_k})
        except BadRequest as err:
            raise gr.Error(str(err)) from None
        return answer_payload(assistant, request)

    return ask


# ---------------------------------------------------------------- the page


def article_choices(articles: Mapping[str, Article]) -> list[tuple[str, str]]:
    """(label, doc_id) pairs for the filter; the id is added where two articles share a title."""
    titles = [a.title for a in articles.values()]
    return sorted(
        ((a.title if titles.count(a.title) == 1 else f"{a.title} ({a.doc_id})"), a.doc_id) for a in articles.values()
    )


def date_limits(articles: Mapping[str, Article]) -> tuple[str, str]:
    period = corpus_period(articles)
    return (str(period[0]), str(period[1])) if period else ("", "")


def date_props(label: str, articles: Mapping[str, Article]) -> dict[str, str]:
    """What DATE_TEMPLATE shows: the label, the corpus's first and last day, the id of the field's message."""
    first, last = date_limits(articles)
    return {"field": label, "min": first, "max": last, "error": f"{DATE_FIELDS[label]}-error"}


def date_field(label: str, articles: Mapping[str, Article]) -> gr.HTML:
    return gr.HTML(
        "", html_template=DATE_TEMPLATE, js_on_load=DATE_JS, apply_default_css=False, elem_id=DATE_FIELDS[label],
        **date_props(label, articles),
    )  # fmt: skip


def field_error_slot(label: str) -> gr.HTML:
    return gr.HTML(
        field_error_html(label), js_on_load=static_text("field_error.js"), apply_default_css=False,
        elem_id=f"{DATE_FIELDS[label]}-message", elem_classes="rag-field-message",
    )  # fmt: skip


def build_blocks(assistant, access: WriteAccess) -> gr.Blocks:
    """The chat page. What depends on which articles exist is sent on each page load (corpus_view), never
    fixed when the page is built: an article added or removed since, by this process or another one, shows."""
    articles = assistant.articles  # only the first draw; the load event sends the articles of the moment
    respond = make_respond(assistant)
    with gr.Blocks(title="Ask the articles", analytics_enabled=False) as blocks:
        header = gr.HTML(
            render("header.html", count=len(articles)), js_on_load=None, apply_default_css=False, elem_id="rag-header"
        )
        turns = gr.State([])  # the Turn objects; the page only holds their HTML
        with gr.Row(elem_id="rag-main", equal_height=False):
            with gr.Column(scale=3, min_width=300, elem_id="rag-chat-column"):
                log_html = gr.HTML(
                    render_conversation([], articles), js_on_load=static_text("conversation.js"), apply_default_css=False,
                    elem_id="rag-chat",
                )
                with gr.Row(elem_id="rag-composer"):
                    box = gr.Textbox(
                        label="Your question", show_label=False, placeholder="Ask a question\u2026", lines=1,
                        max_lines=6, scale=5, min_width=160, elem_id="rag-question", container=False,
                    )  # fmt: skip
                    send = gr.Button("Ask", variant="primary", scale=0, min_width=72, elem_id="rag-ask")
                    clear = gr.Button("New chat", scale=0, min_width=96, elem_id="rag-new")
                gr.HTML(COMPOSER_NOTE, js_on_load=None, apply_default_css=False, elem_id="rag-composer-note")
                with gr.Row(elem_id="rag-examples"):
                    examples = [(gr.Button(e, size="sm", elem_classes="rag-example"), e) for e in EXAMPLES]
                with gr.Accordion("Search options", open=False, elem_id="rag-options") as options:
                    top_k = gr.Number(
                        DEFAULT_TOP_K, label=PASSAGES_LABEL, precision=0, step=1, elem_id="rag-top-k",
                        info="How many of the best-matching passages the answer may quote from.",
                    )  # fmt: skip
                    chosen = gr.Dropdown(
                        choices=article_choices(articles), multiselect=True, label="Only these articles",
                        info="Leave empty to search all articles.", elem_id="rag-articles",
                    )  # fmt: skip
                    with gr.Row(elem_id="rag-dates"):  # each field with its message right under it
                        with gr.Column(min_width=200):
                            date_from = date_field(FROM_LABEL, articles)
                            error_from = field_error_slot(FROM_LABEL)
                        with gr.Column(min_width=200):
                            date_to = date_field(UNTIL_LABEL, articles)
                            error_to = field_error_slot(UNTIL_LABEL)
                    dates_line = gr.Markdown(date_summary(articles), elem_classes="rag-date-summary")
                with gr.Accordion(library_label(articles, access), open=False, elem_id="rag-library") as library:
                    uploads, token, upload_status = upload_controls(access)
                    article_list = gr.HTML(
                        render_article_list(articles, access.possible), js_on_load=static_text("articles.js"),
                        apply_default_css=False, elem_id="rag-article-list",
                    )  # fmt: skip
            with gr.Column(scale=2, min_width=300, elem_id="rag-evidence-column"):
                gr.HTML(render("evidence.html"), js_on_load=None, apply_default_css=False, elem_id="rag-evidence")
        corpus = [header, chosen, date_from, date_to, dates_line, article_list, library]  # corpus_view's order
        assert len(corpus) == len(CORPUS_OUTPUTS)
        blocks.load(
            lambda: corpus_view(assistant.articles, access), None, corpus, show_progress="hidden",
            api_visibility="private",
        ).then(None, js="() => { document.body.dataset.ragCorpus = 'loaded'; }")  # fmt: skip
        inputs = [box, turns, top_k, chosen, date_from, date_to]
        outputs = [box, log_html, turns, top_k, error_from, error_to, options]
        asking = dict(js=static_text("echo.js"), show_progress="hidden", api_visibility="private")
        checking = dict(js=static_text("empty_question.js"), queue=False, show_progress="hidden", api_visibility="private")
        for event in (box.submit, send.click):  # an empty box stops in the browser (empty_question.js)
            event(None, [box], None, **checking).success(respond, inputs, outputs, **asking)
        for button, text in examples:
            button.click(lambda text=text: text, None, box, api_visibility="private", queue=False).then(
                respond, inputs, outputs, **asking
            )
        changed = [log_html, turns, *corpus]
        if uploads is not None:
            uploads.upload(
                make_add(assistant, access), [uploads, token, turns, chosen], [upload_status, uploads, *changed],
                show_progress="hidden", api_visibility="private",
            )  # fmt: skip
        article_list.click(
            make_remove(assistant, access), [token, turns, chosen], changed, show_progress="hidden",
            api_visibility="private",
        )  # fmt: skip
        # New chat: an empty conversation without the filters of the last one (the passage count is a setting)
        clear.click(
            lambda: ("", render_conversation([], assistant.articles), [], [], "", "", *field_errors()), None,
            [box, log_html, turns, chosen, date_from, date_to, error_from, error_to], js=static_text("new_chat.js"),
            api_visibility="private",
        )  # fmt: skip
        gr.api(make_api_ask(assistant), api_name="ask")
    return blocks


def library_label(articles: Mapping[str, Article], access: WriteAccess) -> str:
    return f"Articles ({len(articles)}){': add your own' if access.possible else ''}"


def upload_controls(access: WriteAccess) -> tuple[gr.File | None, gr.Textbox, gr.HTML]:
    """The upload control (none where no one may write), the admin token field (only where one is needed)."""
    token = gr.Textbox(
        label="Admin token", type="password", visible=access.needs_token, elem_id="rag-token",
        info=f"The value of {TOKEN_ENV} on the server: this app is open to the network.",
    )  # fmt: skip
    if not access.possible:
        gr.Markdown("Adding articles is turned off on this server.", elem_classes="rag-date-summary")
        return None, token, gr.HTML("", visible=False)
    uploads = gr.File(
        file_count="multiple", label="Add articles: saved web pages (HTML), PDFs, Markdown or text, up to 20 MB each",
        elem_id="rag-upload",
    )  # fmt: skip
    status = gr.HTML(
        status_html(""), js_on_load=static_text("upload_name.js"), apply_default_css=False, elem_id="rag-upload-status"
    )  # its script also names the drop zone by what it shows
    return uploads, token, status


def chat_css() -> str:
    return static_text("fonts.css") + static_text("chat.css")
