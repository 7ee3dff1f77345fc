"""The REST API: asking (POST /api/ask) and the article collection (GET, POST, DELETE /api/articles)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from rag.errors import UploadError
from rag.ingest.readers import MAX_FILE_BYTES
from rag.payload import answer_to_dict
from rag.types import Article
from rag.web.access import WriteAccess
from rag.web.filters import BadRequest
from rag.web.markup import article_url

log = logging.getLogger(__name__)

DEFAULT_TOP_K = 5
MAX_TOP_K = 20  # the REST/API limit; the chat offers 1-10
MAX_HISTORY = 50
FORM_OVERHEAD = 64 * 1024  # multipart boundaries and headers around the file
TOO_LARGE = f"The file is larger than {MAX_FILE_BYTES // 2**20} MB, the most accepted."
# A write refused before its body is read (too large, not a form, not allowed) still reads and drops a body up to
# this size: a server that answers and closes while the client is still sending makes the client see "connection
# reset by peer" instead of the answer. A larger body is not read: the answer says Connection: close.
DRAIN_BYTES = 128 * 2**20


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


def article_entry(article: Article) -> dict:
    return {
        "doc_id": article.doc_id,
        "title": article.title,
        "authors": list(article.authors),
        "date": article.date,
        "source": article.origin,
    }


def denied_response(access: WriteAccess, request: Request) -> JSONResponse | None:
    denied = access.check(request.headers.get("authorization"))
    if denied is None:
        return None
    response = error_response(*denied)
    if denied[0] == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


async def refused_unread(request: Request, response: Response) -> Response:
    """`response`, a refusal decided before the request body was read: the body is read and dropped first (up
    to DRAIN_BYTES, never kept), so the client, still sending, gets the answer rather than a reset connection."""
    length = request.headers.get("content-length", "")
    drained = 0
    if not (length.isdigit() and int(length) > DRAIN_BYTES):
        try:
            async for chunk in request.stream():
                drained += len(chunk)
                if drained > DRAIN_BYTES:
                    break
        except Exception:  # the client went away, or the body was already read
            pass
    if drained > DRAIN_BYTES or (length.isdigit() and int(length) > DRAIN_BYTES):
        response.headers["Connection"] = "close"
    return response


async def read_upload_field(request: Request) -> tuple[bytes, str] | JSONResponse:
    """The bytes and client file name of the multipart field `file`, or the error response to send."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_FILE_BYTES + FORM_OVERHEAD:
        return await refused_unread(request, error_response(413, TOO_LARGE))  # nothing of it kept
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        return await refused_unread(
            request, error_response(415, "send the file as multipart/form-data, in the field 'file'")
        )
    try:
        form = await request.form(max_files=1, max_fields=20)
    except Exception:  # a broken multipart body: starlette raises its own errors for each way it breaks
        return error_response(400, "the multipart form could not be read")
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            return error_response(422, "send the file in the multipart field 'file'")
        data = await upload.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            return error_response(413, TOO_LARGE)
        return data, upload.filename or ""
    finally:
        await form.close()


def add_article_routes(app: FastAPI, assistant, access: WriteAccess) -> None:
    @app.get("/api/articles")
    def api_list_articles():
        ordered = sorted(assistant.articles.values(), key=lambda a: (a.origin != "seed", a.title.lower()))
        return JSONResponse([article_entry(a) for a in ordered])

    @app.post("/api/articles")
    async def api_add_article(request: Request):
        denied = denied_response(access, request)
        if denied is not None:
            return await refused_unread(request, denied)
        field = await read_upload_field(request)
        if isinstance(field, JSONResponse):
            return field
        data, filename = field
        try:
            added = await run_in_threadpool(assistant.add_upload, data, filename)
        except UploadError as err:  # nothing was written: its message says what to do
            return error_response(err.status, str(err))
        except Exception:
            log.exception("adding %r failed", filename)
            return error_response(500, "the file could not be added; the details are in the server log")
        article = added.article
        body = {"doc_id": article.doc_id, "title": article.title, "paragraphs": len(article.paragraphs)}
        headers = {"Location": article_url(article.doc_id)}
        return JSONResponse(body, status_code=201 if added.created else 200, headers=headers)

    @app.delete("/api/articles/{doc_id:path}")
    async def api_remove_article(doc_id: str, request: Request):
        denied = denied_response(access, request)
        if denied is not None:
            return denied
        try:
            await run_in_threadpool(assistant.remove, doc_id)
        except UploadError as err:
            return error_response(err.status, str(err))
        except Exception:
            log.exception("removing %r failed", doc_id)
            return error_response(500, "the article could not be removed; the details are in the server log")
        return Response(status_code=204)


def add_api_routes(app: FastAPI, assistant, access: WriteAccess) -> None:
    add_article_routes(app, assistant, access)

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
