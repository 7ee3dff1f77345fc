"""The question, parsed once: cleaning, salient terms and answer type, follow-ups resolved with the conversation."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Collection, Mapping, Sequence

from rag.index.tokens import STOPWORDS, lexical_tokens

if TYPE_CHECKING:
    from rag.index.corpus_index import CorpusIndex

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

PLACE_NOUNS = r"(city|country|countries|nation|place|region|state|province|town|continent|island|area|river|capital)"
ANSWER_TYPES = (
    ("response", re.compile(r"\b(respond|react|retaliate)\b|\b(response|reaction|retaliation)\b", re.I)),
    (
        "when",
        re.compile(
            r"^\s*(when\b|(in )?(what|which) (year|years|date|day|month|time|century|centuries|decade|period|era)\b"
            r"|since when\b|how long ago\b)",
            re.I,
        ),
    ),
    ("where", re.compile(rf"^\s*(where\b|(in |from |to )?(which|what) {PLACE_NOUNS}\b)", re.I)),
    ("who", re.compile(r"^\s*(who|whom|whose)\b|^\s*which (person|minister|leader|official|analyst)\b", re.I)),
    (
        "quantity",
        re.compile(r"\bhow (many|much)\b|\bwhat (share|percentage|proportion|number|amount)\b|\bby how\b", re.I),
    ),
    ("why", re.compile(r"^\s*why\b|\bwhat (caused|led to|prompted|triggered)\b|\bfor what reason\b", re.I)),
)

@dataclass(frozen=True)
class QuestionTerms:
    """The salient, stemmed terms of a question with their idf, and what kind of answer it wants."""

    terms: tuple[str, ...]
    weights: tuple[float, ...]
    answer_type: str
    unknown: tuple[str, ...]  # salient terms the corpus never uses
    unknown_names: tuple[str, ...] = ()  # of those, names and numbers ("France", "2025"): the question's subject
    names: tuple[str, ...] = ()  # every name or number the question uses, known to the corpus or not
    expansions: tuple[tuple[str, ...], ...] = ()  # per term, corpus words that may stand for it (rag/index/expansion.py)
    focus: str = ""  # the noun naming what is asked for ("president" in "Who is the president of …?"), stemmed

    @property
    def total_weight(self) -> float:
        return float(sum(self.weights))

    def unknown_share(self, names: bool) -> float:
        """Share of the question's weight on terms the corpus lacks: names and numbers, or other words."""
        if not self.terms:
            return 1.0 if names else 0.0
        chosen = set(self.unknown_names) if names else set(self.unknown) - set(self.unknown_names)
        return self.share(chosen)

    def share(self, chosen: Collection[str]) -> float:
        """Share of the question's idf weight on the chosen terms."""
        total = self.total_weight
        return sum(w for t, w in zip(self.terms, self.weights) if t in chosen) / total if total else 0.0


# "What river …", "Which king …", "Who is the (current) president of …", "What was the name of …"
FOCUS_PATTERNS = (
    re.compile(r"\b(?:what|which|whose|how many|how much)\s+(?:kind of\s+|type of\s+)?(\w+)", re.I),
    re.compile(r"\b(?:who|what)\s+(?:is|was|are|were)\s+(?:the|a|an)\s+(?:\w+\s+)?(\w+)\s+(?:of|for|in|at)\b", re.I),
)
NOT_FOCUS = frozenset("is are was were be been do does did has have had kind type sort name".split())


def question_focus(question: str) -> str:
    """The stemmed noun a question asks for an instance of, or "" when it names none."""
    for pattern in reversed(FOCUS_PATTERNS):  # the "who is the X of" reading first: it skips an adjective
        match = pattern.search(question)
        if match and match.group(1).lower() not in NOT_FOCUS and match.group(1).lower() not in STOPWORDS:
            return (lexical_tokens(match.group(1)) or [""])[0]
    return ""


def answer_type(question: str) -> str:
    for name, pattern in ANSWER_TYPES:
        if pattern.search(question):
            return name
    return "other"


def salient_terms(
    question: str, lexical, metadata_vocabulary: Collection[str] = (), neighbours: Mapping[str, Sequence[str]] = {}
) -> QuestionTerms:
    """Question terms minus question words, weighted by idf; a term unknown to the corpus gets the top idf.
    Terms of article metadata (an author's name) are known even though no passage uses them; a term the corpus
    barely uses carries its expansion terms (`neighbours`, as retrieval uses them)."""
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
        tuple(terms), weights, answer_type(question), unknown,
        tuple(t for t in unknown if t in names), tuple(t for t in terms if t in names),
        tuple(tuple(neighbours.get(t, ())) for t in terms),
        question_focus(question),
    )


def merge_terms(current: QuestionTerms, context: QuestionTerms) -> QuestionTerms:
    """A follow-up's own terms at full weight, those it borrows from the conversation at half weight."""
    extra = [(t, w / 2) for t, w in zip(context.terms, context.weights) if t not in current.terms]
    return QuestionTerms(
        current.terms + tuple(t for t, _ in extra),
        current.weights + tuple(w for _, w in extra),
        current.answer_type,
        current.unknown + tuple(t for t in context.unknown if t not in current.unknown),
        current.unknown_names + tuple(t for t in context.unknown_names if t not in current.unknown_names),
        current.names + tuple(t for t in context.names if t not in current.names),
        current.expansions + tuple(e for t, e in zip(context.terms, context.expansions) if t not in current.terms),
        current.focus or context.focus,
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


def expand_acronyms(query: str, acronyms: dict[str, str]) -> str:
    """Add the long form of an acronym the corpus defines ("BRI" -> "Belt and Road Initiative"), and back."""
    extra = []
    for acronym, long_form in acronyms.items():
        if re.search(rf"\b{re.escape(acronym)}\b", query):
            extra.append(long_form)
        elif re.search(rf"\b{re.escape(long_form)}\b", query, re.I):
            extra.append(acronym)
    return f"{query} ({'; '.join(extra)})" if extra else query


WH_WORDS = ("what", "which", "who", "whom", "whose", "when", "where", "how", "why")


def question_wh(question_text: str) -> str:
    """The question word that opens (or leads) the question: what, which, who …, else "other"."""
    words = re.findall(r"[a-z]+", question_text.lower())
    for w in words[:4]:
        if w in WH_WORDS:
            return "who" if w in ("whom", "whose") else w
    return next((w for w in words if w in WH_WORDS), "other")


@dataclass(frozen=True)
class Question:
    """A question as every stage uses it, derived once (`parse_question`) from what was asked and the
    conversation before it."""

    asked: str  # as asked
    text: str  # cleaned (`clean_question`): what the answer quotes as the question
    history: tuple[str, ...]  # the earlier questions, cleaned, empty ones dropped
    query: str  # what retrieval searches: a follow-up resolved against the history, acronyms expanded
    terms: QuestionTerms  # salient terms of `text`; a follow-up's borrow those of `query` at half weight
    follow_up: bool  # the query leans on the conversation (it is more than the question's own acronym expansion)
    wh: str  # the question word that leads it (`question_wh`)

    @property
    def answer_type(self) -> str:
        return self.terms.answer_type

    @property
    def focus(self) -> str:
        return self.terms.focus


def parse_question(asked: str, history: Sequence[str], index: CorpusIndex) -> Question:
    """Clean the question and its history, resolve a follow-up, expand acronyms and weigh the terms."""
    text = clean_question(asked)
    earlier = tuple(h for h in map(clean_question, history) if h)
    lexical = index.lexical
    if not text:  # nothing asked: nothing to resolve, and the composers abstain before searching
        return Question(str(asked or ""), text, earlier, "", salient_terms(text, lexical), False, question_wh(text))
    own = expand_acronyms(text, index.acronyms)
    resolved = resolve_follow_up(text, earlier, lexical)
    query = own if resolved == text else expand_acronyms(resolved, index.acronyms)
    terms = salient_terms(text, lexical, index.metadata_vocabulary, index.neighbours)
    follow_up = query != own
    if follow_up:  # rank sentences for what is asked now, helped by what the conversation was about
        terms = merge_terms(terms, salient_terms(query, lexical, index.metadata_vocabulary, index.neighbours))
    return Question(str(asked or ""), text, earlier, query, terms, follow_up, question_wh(text))
