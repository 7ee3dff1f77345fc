"""Record the paragraphs the cleaned seeds keep, as tests/data/seed_paragraphs.json (the no-loss expectation).

Run with the code whose paragraphs are the floor: `python scripts/record_seed_paragraphs.py [REPO]`
(REPO defaults to this checkout; the recorded file came from `main` at e6913d0 before issue 13's rules)."""

import hashlib
import json
import sys
from pathlib import Path

repo = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent).resolve()
sys.path.insert(0, str(repo))
from rag.ingest.articles import load_articles  # noqa: E402

record = {}
for article in load_articles(repo / "seeds"):
    paragraphs = [article.paragraph_text(p) for p in article.paragraphs]
    record[article.doc_id] = [
        {"starts": " ".join(text.split()[:8]), "sha1": hashlib.sha1(" ".join(text.split()).encode()).hexdigest()}
        for text in paragraphs
    ]
out = Path(__file__).resolve().parent.parent / "tests" / "data" / "seed_paragraphs.json"
out.write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
print({doc_id: len(paragraphs) for doc_id, paragraphs in record.items()}, "->", out)
