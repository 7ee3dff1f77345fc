"""Adding real files (data/fixtures) as uploads: what each becomes, questions answered from it, restarts,
removal, and every bad input refused with nothing changed (real model, real index, real files)."""

import re
import threading

import lxml.html
import pytest

from rag import Assistant
from rag.answer.citations import grounding_problems
from rag.errors import (
    LastArticle,
    MalformedFile,
    SeedArticle,
    UnknownArticle,
)

from conftest import FIXTURES, PARAGRAPHS, SEEDS, write_article
from pdf_maker import make_pdf
from corpus_state import BAD_INPUTS, state

pytestmark = [pytest.mark.slow]  # real files; the seed index and the model
READABLE = {
    "html": ["nature.com.telescope.html", "phys.org.tool.html", "salon.com.emissions.html", "vancouversun.com.microsoft.html"],
    "pdf": ["multicolumn.pdf", "google-doc-document.pdf", "002-trivial-libre-office-writer.pdf"],
}


@pytest.fixture(scope="module")
def library(tmp_path_factory, embedder):
    """The seeds, with every readable fixture added through Assistant.add."""
    root = tmp_path_factory.mktemp("library")
    assistant = Assistant(seeds_dir=SEEDS, index_dir=root / "index", uploads_dir=root / "uploads", embedder=embedder)
    assistant.warm_up()
    assistant.added = {name: assistant.add(FIXTURES / kind / name) for kind, names in READABLE.items() for name in names}
    return assistant




# ---------------------------------------------------------------- what each fixture becomes

PAGES = {  # title, date, author, site: what the page itself says
    "nature.com.telescope.html": ("Gigantic Chinese telescope opens to astronomers worldwide", "2019-09-24", "Elizabeth Gibney", "Nature"),
    "phys.org.tool.html": (
        "Flint flake tool partially covered by birch tar adds to evidence of Neanderthal complex thinking",
        "2019-10-22", "Bob Yirka", "Phys.org",
    ),
    "salon.com.emissions.html": ("Despite everything, U.S. emissions dipped in 2019", "2020-01-10", "Nathanael Johnson", "Salon.com"),
    "vancouversun.com.microsoft.html": (
        "Microsoft moves to erase its carbon footprint from the atmosphere in climate push", "2020-01-16", "Reuters", "Vancouver Sun",
    ),
}
# Page parts that are not the article, by element or by the class/id/role words sites use for them.
FURNITURE_TAGS = {"script", "style", "nav", "aside", "form", "noscript", "iframe", "footer"}
FURNITURE_NAMES = re.compile(
    r"(^|[-_ ])(nav|navigation|menu|ad|ads|advert\w*|sponsor\w*|promo\w*|related|recommend\w*|newsletter|social|"
    r"share|sharing|comments?|footer|sidebar|breadcrumbs?|subscribe|cookie\w*)($|[-_ ])",
    re.I,
)


def furniture_texts(page: bytes) -> set[str]:
    """Every run of 5+ words inside a script, navigation, advert, related-links … element of the page."""
    found = set()
    for element in lxml.html.document_fromstring(page).iter():
        if not isinstance(element.tag, str):
            continue
        names = " ".join(element.get(k) or "" for k in ("class", "id", "role"))
        if element.tag in FURNITURE_TAGS or FURNITURE_NAMES.search(names):
            found |= {" ".join(t.split()) for t in element.itertext() if len(t.split()) >= 5}
    return found


@pytest.mark.parametrize("name", READABLE["html"])
def test_a_saved_page_becomes_its_article_without_navigation_scripts_or_adverts(library, name):
    article = library.added[name]
    title, date, author, site = PAGES[name]
    assert (article.title, article.date, article.authors, article.publisher) == (title, date, (author,), site)
    assert article.origin == "upload" and article.url.startswith("https://") and article.source_name == name
    assert len(article.paragraphs) >= 3 and all(p.page is None for p in article.paragraphs)
    page = (FIXTURES / "html" / name).read_bytes()
    flat = " ".join(article.text.split())
    assert [t for t in furniture_texts(page) if t in flat] == []
    assert not re.search(r"function\s*\(|window\.|\{\s*\"|©|^\(?credit", article.text, re.I | re.M)
    # Every paragraph is text the page shows (nothing from its head, attributes or scripts' strings).
    squeeze = lambda text: re.sub(r"\s+", "", text)  # noqa: E731 - inline elements split text nodes anywhere
    body = squeeze("".join(lxml.html.document_fromstring(page).xpath("//body")[0].itertext()))
    assert all(squeeze(article.paragraph_text(p))[:60] in body for p in article.paragraphs)


def test_a_two_column_pdf_reads_in_order_with_words_rejoined_and_pages_kept(library):
    article = library.added["multicolumn.pdf"]
    assert (article.title, article.authors, article.date) == ("Two-Column Document with Lorem Ipsum", ("Your Name",), "2024-01-03")
    assert {p.page for p in article.paragraphs} == {1, 2}
    assert article.paragraph_text(article.paragraphs[0]) == "This is a sample document with two columns filled with Lorem Ipsum text."
    assert "consectetuer adipiscing elit" in article.text and not re.search(r"[a-z]-[a-z]", article.text)
    assert "Brussels" not in article.text and "Table 1" not in article.text  # the table is not running text


def test_a_google_docs_pdf_keeps_its_sentences_and_drops_its_table(library):
    article = library.added["google-doc-document.pdf"]
    assert (article.title, article.date) == ("PDF Example Document", "")
    assert article.paragraph_text(article.paragraphs[0]) == "Beautiful is better than ugly."
    assert "Readability counts." in article.text and "273.879.750" not in article.text and "Jakarta" not in article.text
    assert {p.page for p in article.paragraphs} == {1}


def test_a_one_page_writer_pdf_is_one_paragraph_titled_by_its_file_name(library):
    article = library.added["002-trivial-libre-office-writer.pdf"]
    assert (article.title, article.date, len(article.paragraphs)) == ("002 trivial libre office writer", "2022-04-03", 1)
    assert article.paragraphs[0].page == 1 and article.text.startswith("Lorem ipsum dolor sit amet")


# ---------------------------------------------------------------- answered from it

QUESTIONS = [
    ("nature.com.telescope.html", "How many pulsars did the telescope discover during its testing phase?", r"more than 100 pulsars", None),
    ("phys.org.tool.html", "How old is the flint tool found on Zandmotor beach?", r"approximately 50,000 years old", None),
    ("salon.com.emissions.html", "How much did coal generation slide last year?", r"coal generation slid 18 percent", None),
    ("vancouversun.com.microsoft.html", "By when does Microsoft aim to remove more carbon than it emits?", r"than it emits by 2030", None),
    ("multicolumn.pdf", "What is the two-column document filled with?", r"two columns filled with Lorem Ipsum text", 1),
    ("multicolumn.pdf", "What does Sed commodo posuere pede say about Mauris?", r"Sed commodo posuere pede", 2),
    ("google-doc-document.pdf", "What is better than ugly?", r"^Beautiful is better than ugly\.", 1),
    ("002-trivial-libre-office-writer.pdf", "Who is Stet clita kasd gubergren?", r"Stet clita kasd gubergren, no sea takimata", 1),
]


@pytest.mark.parametrize("name, question, pattern, page", QUESTIONS)
def test_a_question_about_an_added_file_is_answered_from_it(library, name, question, pattern, page):
    answer = library.ask(question)
    article = library.added[name]
    assert not answer.abstained and re.search(pattern, answer.text), answer.text
    assert grounding_problems(answer) == []
    assert answer.citations and all(c.doc_id == article.doc_id for c in answer.citations)
    first = answer.citations[0]
    assert first.page == page and first.url == f"/articles/{article.doc_id}#p{first.paragraph}"
    assert all(piece in article.text for piece in first.quote.split(" … "))


def test_seed_questions_are_still_answered_from_the_seeds(library):
    answer = library.ask("Why did China ban Japanese seafood?")
    assert "Fukushima" in answer.text and all(c.doc_id[:3].isdigit() for c in answer.citations)


# ---------------------------------------------------------------- kept, found again, rebuilt


def test_the_uploads_folder_keeps_each_original_unchanged_under_its_content_hash(library):
    import hashlib

    for kind, names in READABLE.items():
        for name in names:
            data = (FIXTURES / kind / name).read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            assert (library.uploads_dir / f"{digest}.{'pdf' if kind == 'pdf' else 'html'}").read_bytes() == data


def test_a_restart_finds_the_uploads_without_rebuilding(library, embedder):
    again = Assistant(seeds_dir=SEEDS, index_dir=library.store.folder, uploads_dir=library.uploads_dir, embedder=embedder)
    assert again.index.manifest["corpus_hash"] == library.index.manifest["corpus_hash"]
    assert again.store.current() == library.store.current()  # loaded, not rebuilt
    assert {a.doc_id for a in library.added.values()} <= set(again.articles)
    assert again.articles[library.added["multicolumn.pdf"].doc_id].origin == "upload"


def test_a_rebuilt_index_includes_the_uploads(library, embedder, tmp_path):
    fresh = Assistant(seeds_dir=SEEDS, index_dir=tmp_path / "index", uploads_dir=library.uploads_dir, embedder=embedder)
    for article in library.added.values():
        rebuilt = fresh.articles[article.doc_id]
        assert (rebuilt.text, rebuilt.paragraphs, rebuilt.origin) == (article.text, article.paragraphs, "upload")
    assert re.search("more than 100 pulsars", fresh.ask("How many pulsars did the telescope discover during its testing phase?").text)


def test_the_same_content_again_gives_the_existing_article(library):
    before = state(library)
    data = (FIXTURES / "html" / "salon.com.emissions.html").read_bytes()
    added = library.add_upload(data, "another name.html")
    assert not added.created and added.article.doc_id == library.added["salon.com.emissions.html"].doc_id
    same_text = library.add_upload(data.replace(b"</html>", b"</html>\n<!-- saved again -->"), "copy.html")
    assert not same_text.created and same_text.article.doc_id == added.article.doc_id  # other bytes, same article
    assert state(library) == before


def test_a_client_file_name_is_only_a_label(library):
    before = set(library.uploads_dir.parent.iterdir())
    data = b"The harbour of Eastport was dredged in 2019 so that larger container ships could berth there.\n"
    added = library.add_upload(data, "../../../etc/../evil\x00 name.txt")
    assert added.created and added.article.source_name == "evil name.txt"
    assert set(library.uploads_dir.parent.iterdir()) == before  # nothing written beside the uploads folder
    assert [p for p in library.uploads_dir.iterdir() if "evil" in p.name] == []
    library.remove(added.article.doc_id)


# ---------------------------------------------------------------- bad input: refused, nothing changed



@pytest.mark.parametrize("name, make, error, status, message", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_a_bad_file_is_refused_with_its_status_and_changes_nothing(library, name, make, error, status, message):
    before = state(library)
    with pytest.raises(error) as caught:
        library.add_upload(make(), name)
    assert caught.value.status == status and message in str(caught.value)
    assert state(library) == before


def test_a_parse_over_the_time_limit_is_refused_and_changes_nothing(library):
    before = state(library)
    library.parse_seconds = 0.2
    try:
        with pytest.raises(MalformedFile) as caught:
            library.add_upload(make_pdf([["A line of the report on the harbour works, page after page."] * 60] * 200), "slow.pdf")
    finally:
        library.parse_seconds = 60.0
    assert caught.value.status == 422 and "took longer than" in str(caught.value)
    assert state(library) == before


def test_removing_a_seed_or_an_unknown_id_is_refused_and_changes_nothing(library):
    before = state(library)
    with pytest.raises(SeedArticle) as seed:
        library.remove("003_eafb6a902547a699")
    with pytest.raises(UnknownArticle) as unknown:
        library.remove("no-such-article")
    assert (seed.value.status, unknown.value.status) == (403, 404)
    assert "articles folder" in str(seed.value) and "no-such-article" in str(unknown.value)
    assert state(library) == before


# ---------------------------------------------------------------- removal and concurrency (own small corpus)


@pytest.fixture
def port(tmp_path, embedder):
    folder = tmp_path / "articles"
    folder.mkdir()
    write_article(folder, "port.txt", "Northport approves terminal", PARAGRAPHS, byline="By Jane Roe")
    return Assistant(seeds_dir=folder, index_dir=tmp_path / "index", uploads_dir=tmp_path / "uploads", embedder=embedder)


def test_removing_an_upload_removes_its_file_and_passages(port):
    before = state(port)
    article = port.add(FIXTURES / "html" / "phys.org.tool.html")
    assert port.ask("How old is the flint tool found on Zandmotor beach?").citations[0].doc_id == article.doc_id
    port.remove(article.doc_id)
    assert article.doc_id not in port.articles
    assert all(p.doc_id != article.doc_id for p in port.index.passages)
    assert [p.passage_id for p in port.index.passages] == list(range(len(port.index.passages)))
    answer = port.ask("How old is the flint tool found on Zandmotor beach?")
    assert all(c.doc_id != article.doc_id for c in answer.citations)
    assert sorted(p.name for p in port.uploads_dir.iterdir()) == []  # the original and its note are gone
    assert state(port)[1] == before[1]
    restarted = Assistant(seeds_dir=port.seeds_dir, index_dir=port.store.folder, uploads_dir=port.uploads_dir, embedder=port.embedder)
    assert restarted.store.current() == port.store.current() and article.doc_id not in restarted.articles


def test_the_last_article_cannot_be_removed(tmp_path, embedder):
    empty = tmp_path / "articles"
    empty.mkdir()
    (empty / "README.md").write_text("notes, not an article")
    assistant = Assistant(seeds_dir=empty, index_dir=tmp_path / "index", uploads_dir=tmp_path / "uploads", embedder=embedder)
    article = assistant.add_upload("\n\n".join(PARAGRAPHS).encode(), "port.txt").article
    before = state(assistant)
    with pytest.raises(LastArticle) as caught:
        assistant.remove(article.doc_id)
    assert caught.value.status == 409 and state(assistant) == before


def test_questions_asked_while_articles_are_added_and_removed_are_answered_from_a_whole_index(port):
    port.warm_up()
    errors, answers = [], []
    done = threading.Event()

    def ask_until_done():
        try:
            while not done.is_set():
                answer = port.ask("Who is the mayor of Northport?")
                assert grounding_problems(answer) == [] and "Alice Brennan" in answer.text
                answers.append(answer)
        except Exception as err:  # noqa: BLE001 - collected for the assertion below
            errors.append(err)

    threads = [threading.Thread(target=ask_until_done) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        added = [port.add(FIXTURES / "html" / name) for name in READABLE["html"][:2]]
        port.remove(added[0].doc_id)
    finally:
        done.set()
        for thread in threads:
            thread.join()
    assert not errors and len(answers) >= 4
    assert added[1].doc_id in port.articles and added[0].doc_id not in port.articles


def test_the_index_goes_stale_when_the_uploads_folder_changes_behind_its_back(port):
    article = port.add(FIXTURES / "html" / "salon.com.emissions.html")
    built = port.store.current()
    for path in port.uploads_dir.iterdir():
        path.unlink()  # removed by hand, not through remove()
    restarted = Assistant(seeds_dir=port.seeds_dir, index_dir=port.store.folder, uploads_dir=port.uploads_dir, embedder=port.embedder)
    assert article.doc_id not in restarted.articles and restarted.store.current() != built  # rebuilt without it


def test_an_index_served_from_disk_takes_an_upload_and_lets_it_go(tmp_path, embedder, monkeypatch):
    """An IVF-PQ build (memory-mapped lists, re-rank rows read from the vectors file) cannot be copied and
    extended in memory: an upload and its removal build in full, and answer from the new article."""
    monkeypatch.setenv("RAG_DENSE_INDEX", "ivfpq")
    assistant = Assistant(seeds_dir=SEEDS, index_dir=tmp_path / "index", uploads_dir=tmp_path / "uploads", embedder=embedder)
    assert assistant.index.dense.kind == "ivfpq"
    added = assistant.add_upload((FIXTURES / "pdf" / "google-doc-document.pdf").read_bytes(), "zen.pdf")
    assert added.created and assistant.index.dense.kind == "ivfpq"
    answer = assistant.ask("What is better than ugly?")
    assert any(c.doc_id == added.article.doc_id for c in answer.citations)
    assistant.remove(added.article.doc_id)
    assert added.article.doc_id not in assistant.index.articles and not list((tmp_path / "uploads").glob("*.pdf"))
    assert assistant.index.dense.kind == "ivfpq" and assistant.ask("Why did China ban Japanese seafood?").citations
