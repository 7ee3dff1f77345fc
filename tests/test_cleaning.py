"""The cleaning rules added for web pages and PDFs, each on a small hand-made input."""

from rag.cleaning import (
    is_body,
    join_wrapped_lines,
    lay_out,
    lowercase_share,
    split_units,
    wrapped_vocabulary,
)


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
