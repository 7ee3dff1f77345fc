"""Web layer: a FastAPI app with the REST API and the article pages, and the Gradio chat mounted at /."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Iterator

import httpx
from fastapi import FastAPI


def create_app(assistant, host: str = "127.0.0.1") -> FastAPI:
    """The whole web app; its own routes are added before Gradio takes over everything else under /.

    `host` is the address the app is bound to: on a loopback address anyone who reaches the app may add and
    remove articles; on any other, only with the token in RAG_ADMIN_TOKEN (rag.web.access)."""
    import gradio as gr

    from rag.ingest.readers import MAX_FILE_BYTES
    from rag.web.access import write_access
    from rag.web.api import add_api_routes
    from rag.web.chat import build_blocks, chat_css
    from rag.web.pages import add_page_routes

    access = write_access(host)
    app = FastAPI(title="Ask the articles", docs_url=None, redoc_url=None, openapi_url=None)
    add_api_routes(app, assistant, access)
    add_page_routes(app, assistant)
    blocks = build_blocks(assistant, access)
    # show_error=False: an unexpected exception reaches the browser as a bare "Error", never its text.
    # The style sheet goes into <head> as it is: Gradio's css= would scope it inside its own frame.
    head = f"<style>{chat_css()}</style>"
    return gr.mount_gradio_app(
        app, blocks, path="/", head=head, show_error=False, footer_links=["api"], max_file_size=MAX_FILE_BYTES
    )


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
