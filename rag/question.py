"""The question: cleaning, its salient terms, and follow-ups resolved with the conversation."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Collection, Sequence

from rag.store import lexical_tokens

MAX_QUESTION_CHARS = 2000


def clean_question(question: str) -> str:
    """Collapse white space and control characters; cut to MAX_QUESTION_CHARS."""
    text = "".join(c if c.isprintable() else " " for c in str(question or ""))
    return " ".join(text.split())[:MAX_QUESTION_CHARS]


# Words that frame a question rather than name its subject (stemmed, as lexical_tokens gives them).
QUESTION_WORDS = frozenset(
    "what when where who whom whose which why how mani much did doe do is are was were can could would "
    "should tell describ explain happen see think consid view say mean get make know".split()
)
ANAPHORA = frozenset("it its they them their this that these those he she him her his there then such".split())

@dataclass(frozen=True)
class QuestionTerms:
    """The salient, stemmed terms of a question with their idf; which of them the corpus never uses."""

    terms: tuple[str, ...]
    weights: tuple[float, ...]
    unknown: tuple[str, ...]  # salient terms the corpus never uses
    unknown_names: tuple[str, ...] = ()  # of those, names and numbers ("France", "2025"): the question's subject
    names: tuple[str, ...] = ()  # every name or number the question uses, known to the corpus or not


def salient_terms(question: str, lexical, metadata_vocabulary: Collection[str] = ()) -> QuestionTerms:
    """Question terms minus question words, weighted by idf; a term unknown to the corpus gets the top idf.
    Terms of article metadata (an author's name) are known even though no passage uses them."""
    terms: list[str] = []
    names: set[str] = set()
    for position, word in enumerate(re.findall(r"[^\W_]+(?:[’'][^\W_]+)?", question)):
        for token in lexical_tokens(word):
            token = lexical.known_form(token)
            if token in QUESTION_WORDS or token in terms:
                continue
            terms.append(token)
            if word[0].isdigit() or (position > 0 and word[0].isupper()):
                names.add(token)
    weights = tuple(lexical.idf(t) for t in terms)
    unknown = tuple(t for t in terms if t not in lexical.document_frequency and t not in metadata_vocabulary)
    return QuestionTerms(
        tuple(terms), weights, unknown, tuple(t for t in unknown if t in names), tuple(t for t in terms if t in names)
    )


def is_elliptical(question: str, terms: QuestionTerms, lexical) -> bool:
    """A follow-up that needs the conversation: it names nothing specific, or points back ("it", "they") and
    names no specific person, place, thing or number of its own ("When did it take effect?")."""
    words = set(re.findall(r"[a-z']+", question.casefold()))
    size = max(len(lexical), 1)
    specific = [t for t in terms.terms if 0 < lexical.document_frequency.get(t, 0) <= 0.1 * size]
    if words & ANAPHORA and not set(specific) & set(terms.names):
        return True
    return not specific and not terms.unknown_names


def resolve_follow_up(question: str, history: Sequence[str], lexical) -> str:
    """The question as retrieval should see it: with the earlier question it leans on, if it is elliptical."""
    if not history or not is_elliptical(question, salient_terms(question, lexical), lexical):
        return question
    context = []
    for earlier in reversed(history):  # walk back to the last question that stood on its own
        earlier = " ".join(str(earlier).split())
        if not earlier:
            continue
        context.insert(0, earlier)
        if not is_elliptical(earlier, salient_terms(earlier, lexical), lexical) or len(context) == 2:
            break
    return " ".join(context + [question])
