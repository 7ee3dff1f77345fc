"""PDF page text -> paragraphs with pages: page furniture, paragraph ends, pages kept (hand-made page texts)."""

from rag.ingest.pdf_layout import line_width, ends_paragraph, pdf_units, running_lines

WIDTH_LINE = "the harbour authority said the works would go on through the"  # ~60 characters


def page(*lines: str) -> str:
    return "\n".join(lines)


def test_page_numbers_and_running_headers_are_dropped_but_body_lines_kept():
    pages = [
        page("Harbour Review 2024", f"Body text on page {n} runs across the whole width of the column here.", "Short end.", str(n))
        for n in range(1, 5)
    ]
    texts = [u.text for u in pdf_units(pages)]
    assert not any("Harbour Review" in t for t in texts)
    assert not any(t.strip().isdigit() for t in texts)
    assert any("Body text on page 3" in t for t in texts)
    assert running_lines([p.split("\n") for p in pages[:2]]) == frozenset()  # two pages: nothing is "running"


def test_a_paragraph_running_onto_the_next_page_stays_whole_and_keeps_its_first_page():
    pages = [
        page("The harbour authority approved a new container terminal on Monday", "after a long debate that lasted most of the year, and the"),
        page("mayor welcomed the decision.", "Critics said the terminal would damage the wetlands south of", "the city, home to rare birds."),
    ]
    units = pdf_units(pages)
    assert [u.page for u in units] == [1, 2]
    assert units[0].text.endswith("and the mayor welcomed the decision.")
    assert units[1].text.startswith("Critics said")


def test_title_byline_and_heading_lines_stand_alone():
    pages = [page(
        "Northport Terminal Report", "Jane Roe", "March 3, 2021", "Summary",
        "The harbour authority approved a new container terminal on Monday after",
        "a long debate that lasted most of the year in the city council.",
    )]
    texts = [u.text for u in pdf_units(pages)]
    assert texts[:4] == ["Northport Terminal Report", "Jane Roe", "March 3, 2021", "Summary"]
    assert texts[4].startswith("The harbour authority") and texts[4].endswith("city council.")


def test_a_short_line_ending_a_sentence_ends_the_paragraph_and_a_full_one_does_not():
    width = line_width([WIDTH_LINE] * 5)
    assert ends_paragraph("said so.", "Next paragraph starts", width)
    assert not ends_paragraph("the harbour authority said the works would end. The mayor", "agreed.", width)


def test_hyphenated_breaks_are_rejoined_across_lines():
    pages = [page(
        "The committee found the harbour dredging had been adjourned twice",
        "and that the contractor had been adjour-",
        "ned a third time, which was unpre-",
        "cedented in the history of the port authority.",
    )]
    (unit,) = pdf_units(pages)
    assert "adjourned a third time" in unit.text and "unprecedented in the history" in unit.text
