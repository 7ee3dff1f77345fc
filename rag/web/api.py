"""The REST API: POST /api/ask, its request checks and its JSON errors."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from rag.payload import answer_to_dict
from rag.web.filters import BadRequest

log = logging.getLogger(__name__)

DEFAULT_TOP_K = 5
MAX_TOP_K = 20  # the REST/API limit; the chat offers 1-10
MAX_HISTORY = 50


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
