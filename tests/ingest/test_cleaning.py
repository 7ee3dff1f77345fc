"""The cleaning rules added for web pages and PDFs, each on a small hand-made input."""

from rag.ingest.cleaning import is_body, join_wrapped_lines, lay_out, lowercase_share, split_units, wrapped_vocabulary


def test_running_text_is_body_but_rows_headlines_and_references_are_not():
    assert is_body("The committee approved the plan after a long debate in March.")
    assert is_body("Readability counts.")
    assert not is_body("Belgium 11.5 30,689 Brussels Dutch, French, German Czech Republic 10.7 78,866 Prague Czech")
    assert not is_body("Science 381, 112-118 (2023)")  # a reference line ending in a bracket
    assert not is_body("Harbour Authority Approves New Container Terminal After Long Public Debate In Northport.")
    assert lowercase_share("“the port” (and its) neighbours") == 1.0


def test_a_hyphen_that_broke_a_word_is_dropped_and_a_compound_keeps_it():
    lines = [
        "The harbour works were adjour-",
        "ned in March. The works were adjourned again in May,",
        "a well-",
        "known pattern: well and known are words here too, as is",
        "the Sino-",
        "Japanese accord and the unpre-",
        "cedented delay.",
    ]
    joined = join_wrapped_lines(lines, wrapped_vocabulary(lines))
    assert "adjourned in March" in joined  # "adjourned" appears whole elsewhere
    assert "well-known" in joined  # both halves are words of the text
    assert "Sino-Japanese" in joined  # a capital after the hyphen: a compound
    assert "unprecedented" in joined  # neither half is a word of the text
    assert join_wrapped_lines(["adjour-", "ned"]) == "adjour-ned"  # without a vocabulary: as before


def test_hard_wrapped_text_files_get_the_same_dehyphenation():
    body = "\n".join(
        ["A line of wrapped text long enough to count as running text."] * 4
        + ["The engineers said the structure was remar-", "kably stable after the inspection of the site."]
        + ["Another wrapped line long enough to count for the width test."] * 4
    )
    assert any("remarkably stable" in unit for unit in split_units(body))


def test_a_known_title_is_not_taken_from_the_text_and_its_copy_is_dropped():
    units = [
        "Port approves terminal",
        "A short standfirst without a full stop",
        "The harbour authority approved a new container terminal on Monday after a long debate.",
    ]
    layout = lay_out(units, known_title="Port Approves Terminal")
    assert layout.title == "Port Approves Terminal"
    assert [text for _, text in layout.body] == [units[2]]
    assert lay_out(units).title == "Port approves terminal"  # without one, the first line is the title


BODY = "The harbour authority approved a new container terminal on Monday after a long debate in the council."


def test_furniture_lines_go_unless_the_text_is_hard_wrapped_and_they_run_on():
    from rag.ingest.cleaning import drop_furniture_lines

    block = ["Leave a Reply", BODY]
    assert drop_furniture_lines(block) == [BODY]  # not hard-wrapped (no width): judged line by line
    wrapped = ["The council debated the new terminal and, after many hours, asked critics to", "Leave a Reply"]
    assert drop_furniture_lines(wrapped, width=80) == wrapped  # continues an unfinished sentence: running text
    assert drop_furniture_lines(["A sentence ends here.", "Leave a Reply"], width=80) == ["A sentence ends here."]


def test_a_paragraph_wholly_in_parentheses_is_an_editorial_note():
    from rag.ingest.cleaning import is_editorial_note

    note = "(This article first appeared in the Northport Daily News on Monday.)"
    assert is_editorial_note(note)
    assert is_editorial_note("(The views expressed are the author's own and not those of this site. Read more >>")
    assert not is_editorial_note("(Short aside.)")  # fewer than six words
    assert not is_editorial_note("The council (in a long session) approved the terminal on Monday.")
    assert [text for _, text in lay_out(["Port approves terminal", BODY, note]).body] == [BODY]


def test_a_heading_is_short_capitalised_and_unpunctuated():
    from rag.ingest.cleaning import is_heading_like

    assert is_heading_like("Background") and is_heading_like("Reactions from the council")
    assert not is_heading_like("The Northport harbour authority approved a new terminal on Monday")  # > 8 words
    assert not is_heading_like("background") and not is_heading_like("In short:")
    assert not is_heading_like("A" * 71)


def test_the_first_line_is_the_title_up_to_twenty_words():
    twenty = " ".join(["Word"] * 20)
    assert lay_out([twenty, BODY]).title == twenty
    assert lay_out([twenty + " more", BODY]).title == ""  # running text, not a title
    assert lay_out(["A title that ends like a sentence,", BODY]).title == ""


def test_bylines_give_authors_and_date_and_numbered_notes_become_footnotes():
    from rag.ingest.cleaning import parse_byline

    layout = lay_out(["Port approves terminal", "By Jane Roe | Updated: 2024-05-24 11:10", BODY,
                      "[1] The council's minutes, 3 May 2024."])
    assert (layout.title, layout.authors, layout.date) == ("Port approves terminal", ("Jane Roe",), "2024-05-24")
    assert layout.footnotes == ("The council's minutes, 3 May 2024.",) and [t for _, t in layout.body] == [BODY]
    # a byline further down the leading matter, after a standfirst
    later = lay_out(["Port approves terminal", "A short standfirst without a full stop",
                     "By Jane Roe | Updated: 2024-05-24 11:10", BODY])
    assert (later.authors, later.date) == (("Jane Roe",), "2024-05-24") and [t for _, t in later.body] == [BODY]
    assert parse_byline("By Jane Roe published 2024-05-24") == (("Jane Roe",), "2024-05-24")
    assert parse_byline("By Jane Roe and John Doe UPDATED 2024") == (("Jane Roe", "John Doe"), "")
    assert parse_byline("Jane Roe") is None
