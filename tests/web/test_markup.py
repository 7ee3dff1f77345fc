"""Shared web helpers (rag/web/markup.py): quoted stretches, safe links, autoescaped templates."""

from __future__ import annotations

from rag.web.markup import highlight_pieces, quote_ranges, render, safe_external_url, with_quote


def test_quote_ranges_tolerate_reflowed_white_space_and_ellipses():
    text = "One two three.\nFour five six. Seven eight."
    assert [text[s:e] for s, e in quote_ranges(text, "two three. Four \u2026 Seven eight")] == [
        "two three.\nFour",
        "Seven eight",
    ]


def test_highlight_pieces_cover_the_text_in_order():
    text = "Alpha beta gamma beta."
    pieces = highlight_pieces(text, "beta")
    assert "".join(p for p, _ in pieces) == text
    assert [p for p, marked in pieces if marked] == ["beta", "beta"]
    assert highlight_pieces(text, "") == [(text, False)]
    assert highlight_pieces(text, "be") == [(text, False)]  # too short a piece marks nothing


def test_only_http_links_leave_the_app():
    assert safe_external_url("https://example.org/a") == "https://example.org/a"
    assert safe_external_url("javascript:alert(1)") == ""
    assert safe_external_url("data:text/html,<b>x</b>") == ""
    assert safe_external_url("//example.org") == ""


def test_quote_goes_before_the_fragment():
    assert with_quote("/articles/d#p3", "a & b") == "/articles/d?q=a+%26+b#p3"
    assert with_quote("/articles/d#p3", "") == "/articles/d#p3"


def test_templates_escape_what_they_are_given():
    page = render("not_found.html", title="<script>x</script>")
    assert "<title>&lt;script&gt;x&lt;/script&gt;</title>" in page


def test_people_s_text_in_a_message_is_isolated_from_what_follows():
    from rag.web.markup import isolated

    rlo = "\u202e"
    html = str(isolated(f"Added \u201c<b>{rlo}Title</b>\u201d from \u2068{rlo}evil.pdf\u2069 (2 paragraphs)."))
    assert html == (
        f"Added \u201c<bdi>&lt;b&gt;{rlo}Title&lt;/b&gt;</bdi>\u201d from <bdi>{rlo}evil.pdf</bdi> (2 paragraphs)."
    )
    assert str(isolated("No article matches.")) == "No article matches."
    page = render("conversation.html", turns=[], render_id="x")
    assert "<bdi>" not in page
