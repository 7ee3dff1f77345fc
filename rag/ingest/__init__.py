"""Ingest: files in, articles out. A folder of articles or an upload (text, Markdown, HTML, PDF) is read in a
worker process (`readers`, `extract_worker`, `pdf_layout`), cleaned of page furniture (`cleaning`,
`furniture`) and becomes an `Article` (`articles.load_articles`, `articles.article_from_document`); uploads
are kept by content (`uploads.UploadStore`). `sentences` trains Punkt on the corpus and `chunking` cuts an
article into `Passage`s of whole sentences. Knows nothing of vectors, indexes or questions."""
