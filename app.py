"""Serve the web app (127.0.0.1:7860): `python app.py [--host H] [--port P] [--seeds DIR] [--index DIR] [--uploads DIR] [--store S]`."""

from __future__ import annotations

import argparse
import logging
import os
import sys

DEFAULT_HOST = "127.0.0.1"  # loopback unless asked otherwise: the app has no authentication
DEFAULT_PORT = "7860"


def port_number(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}")
    return port


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python app.py", description=__doc__)
    host = os.environ.get("RAG_HOST", DEFAULT_HOST)
    parser.add_argument("--host", default=host, help="address to listen on (env RAG_HOST)")
    # a string default goes through `type` too, so a bad RAG_PORT is reported like a bad --port
    port = os.environ.get("RAG_PORT", DEFAULT_PORT)
    parser.add_argument("--port", type=port_number, default=port, help="port (env RAG_PORT)")
    parser.add_argument("--seeds", default=None, help="folder of .txt/.md articles (default: the repo's seeds/)")
    parser.add_argument("--index", default=None, help="index folder (default: the repo's index/)")
    parser.add_argument("--uploads", default=None, help="folder of uploaded originals (default: the repo's uploads/)")
    parser.add_argument("--store", choices=("faiss", "milvus"), default=None, help="where passage vectors are "
                        "searched (default faiss; milvus: at $RAG_MILVUS_URI, needs the [scale] extra) (env RAG_STORE)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("rag").setLevel(logging.INFO)  # our progress, without the libraries' chatter
    # Heavy imports here, not at the top: importing app.py must not load gradio or the model.
    import uvicorn

    from rag import Assistant
    from rag.ingest.articles import CorpusError
    from rag.web import create_app

    assistant = Assistant(seeds_dir=args.seeds, index_dir=args.index, uploads_dir=args.uploads, vector_store=args.store)
    try:
        assistant.warm_up()  # build or load the index and the model before the first question
    except (CorpusError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    # the bind address decides who may add and remove articles (rag.web.access: loopback, else RAG_ADMIN_TOKEN)
    uvicorn.run(create_app(assistant, host=args.host), host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
