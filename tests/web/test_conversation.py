"""The conversation as shown (rag/web/conversation.py): answer text, citation links, short answer, abstentions."""

from __future__ import annotations

import re
from datetime import date
from html import unescape

from rag.types import Answer, Article, Citation, Hit, Passage, ShortAnswer
from rag.web.conversation import Turn, answer_segments, render_conversation, turn_view
from rag.web.filters import Filters

EVIL = "<script>alert('xss')</script>"
TREATY = "The treaty took effect on 23 October 1978, two months after it was signed."


def cited_answer(text=f"{TREATY} [1]", short=None, title="Treaty <b>news</b>"):
    passage = Passage(1, "d1", 12, 0, len(TREATY), TREATY)
    citation = Citation(1, "d1", title, "/articles/d1#p12", 12, TREATY, TREATY, 0.9)
    return Answer("When did it take effect?", text, False, 0.87, (citation,), (Hit(passage, title, 0.9, 1),),
                  short_answer=short)  # fmt: skip


def rendered(*turns, articles=None) -> str:
    return render_conversation(list(turns), articles or {})


def test_citation_links_are_named_by_their_source_and_open_the_paragraph():
    page = rendered(Turn("q", cited_answer()))
    (link,) = re.findall(r'<a class="rag-cite"[^>]*>', page)
    assert 'aria-label="Source 1: Treaty &lt;b&gt;news&lt;/b&gt;, paragraph 12"' in link
    assert 'href="/articles/d1?q=The+treaty' in link and "#p12" in link
    assert 'data-source="1"' in link


def test_answer_and_question_text_are_escaped():
    page = rendered(Turn(f"why {EVIL}?", cited_answer(f"Because {EVIL} [1]", title=EVIL)))
    assert "<script" not in page and "&lt;script&gt;" in page
    assert "<b>" not in page


def test_a_marker_naming_no_citation_stays_text_and_adjacent_markers_group():
    segments = answer_segments(cited_answer("One. [1][1] Two. [7]"), {1: turn_view(Turn("q", cited_answer()), {}).sources[0]})
    assert [(s.text, len(s.sources)) for s in segments if s.sources] == [("One. ", 2)]  # word and marker together
    assert "".join(s.text for s in segments) == "One.  Two. [7]"


def test_short_answer_is_bold_where_the_answer_says_it():
    start = TREATY.index("23 October 1978")
    short = ShortAnswer("23 October 1978", 1, start, start + 15, start, start + 15)
    page = rendered(Turn("q", cited_answer(short=short)))
    assert '<strong class="rag-short">23 October 1978</strong>' in page
    text = unescape(re.sub(r"<[^>]+>", "", page))
    assert "The treaty took effect on 23 October 1978, two months after it was signed." in text


def test_a_short_answer_that_does_not_match_the_text_is_not_bold():
    short = ShortAnswer("1979", 1, 0, 4, 0, 4)  # says "1979" where the answer has "The "
    assert "<strong" not in rendered(Turn("q", cited_answer(short=short)))


def test_abstention_is_one_sentence_with_related_passages_and_no_score():
    hit = Hit(Passage(1, "d1", 2, 0, 10, "Unrelated text about fishing quotas."), "Fish", 0.96, 1)
    abstained = Answer("q", "I could not find an answer to that in the articles.", True, 0.1, (), (hit,))
    page = rendered(Turn("q", abstained))
    notice = re.search(r'<p class="rag-abstain">(.*?)</p>', page).group(1)
    assert notice == "No answer was found in the articles."
    assert "Related passages, not an answer (1)" in page and 'href="/articles/d1#p2"' in page
    assert not re.search(r"\b0\.\d+\b|score|relevance", unescape(re.sub(r"<[^>]+>", " ", page)), re.I)


def test_abstention_names_the_active_filters():
    filters = Filters(("Defrosting relations",), date(2017, 1, 1), None)
    page = rendered(Turn("q", Answer("q", "", True, 0.1), filters=filters))
    assert re.search(
        r'<p class="rag-abstain">No answer was found with the filters on \(only “<bdi>Defrosting relations</bdi>”, '
        r"published from 2017-01-01\)\.</p>",
        page,
    )


def test_pending_turn_shows_the_question_and_a_progress_status():
    page = rendered(Turn("Is it coming?", notes=("Your question had 5,000 characters; only its first 2,000 were used.",)))
    assert 'data-status="pending"' in page and 'role="status"' in page and "Is it coming?" in page
    assert "only its first 2,000 were used" in page


def test_notices_and_errors_are_messages_not_answers():
    page = rendered(Turn("q", notice="No article matches."), Turn("q2", notice="Sorry.", error=True))
    assert '<p class="rag-notice">No article matches.</p>' in page
    assert '<p class="rag-error" role="alert">Sorry.</p>' in page


def test_source_cards_show_byline_and_only_http_original_links():
    article = Article("d1", "T", "", (), authors=("Ann Lee",), publisher="Daily", date="2020-01-02", url="javascript:x")
    page = rendered(Turn("q", cited_answer()), articles={"d1": article})
    assert "Ann Lee · Daily · 2020-01-02 · paragraph 12" in page
    assert "javascript:" not in page and "Original article" not in page
    good = rendered(Turn("q", cited_answer()), articles={"d1": article.__class__(**{**article.__dict__, "url": "https://e.org/a"})})
    assert 'href="https://e.org/a"' in good and 'rel="noopener noreferrer"' in good
