"""Bridge answers: a question that asks for one name by several of its facts.

"Which company, covered by TechCrunch, paid billions to remain the default search engine and is
accused of harming news publishers' revenue?" No sentence states all of that, so a judge asked
whether one sentence answers the whole question says no. Multi-hop QA answers such a question
through the entity its facts share (the "bridge"): the question is split into its clauses, each
asked on its own ("Which company paid billions to remain the default search engine?"), and a
name the retrieved passages hold is the answer when sentences that name it are judged to state
at least two of the clauses. Those sentences are its citations; the model writes nothing, the
answer is the name as the sources spell it.

This module holds the language part (clauses, candidate names) and the search
(:func:`answer`), which asks the judge the engine gives it. English questions only: a German
comma opens every subordinate clause, so the split below would cut a noun from the clause that
restricts it. The words below are closed classes of the
grammar, not of any corpus.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from fundstelle.core.settings import Settings
from fundstelle.ingest import lexicon

from . import verify
from .evidence import EvidenceSelector, is_evidence
from .grounding import Claim, SourceText, _acronym, _name_grounded, claims
from .mentions import named_publishers
from .question import AUXILIARIES_EN, words
from .types import Evidence, Passage, Span

# what may follow the question word before the clauses start: a noun phrase of a few words
_HEAD_WORDS = 4
_RELATIVE = frozenset(["that", "who", "which", "whom"])
_WHO = frozenset(["who"])
_WHICH = frozenset(["which", "what"])
# where one clause ends and the next begins: a comma or semicolon, "while", "and" before a
# finite verb ("... and is accused of ..."), "but also"
_BOUNDARY = re.compile(
    r"\s*[,;]\s+(?:(?:and|but|yet)\s+)?|\s+(?:while|whereas)\s+|"
    r"\s+and\s+(?=(?:is|was|are|were|has|had|have|also)\b)|\s+but\s+(?=also\b)",
    re.I,
)
# connecting words at a clause's edges, not part of its fact
_LEAD = re.compile(
    r"^(?:(?:also|and|but|yet|both|then|that|who|which|while|whilst|whereas)\b\s*)+", re.I
)
_TRAIL = re.compile(
    r"(?:\s+(?:and|or|by|from|in|to|of|as|per|according|both|the|that|who|which))+$", re.I
)
# the words of saying where something was reported, a closed class of journalism's words
_REPORTING = frozenset(
    (
        "article", "articles", "report", "reports", "reported", "reporting", "piece", "pieces",
        "story", "stories", "coverage", "covered", "featured", "discussed", "noted", "mentioned",
        "highlighted", "published", "according", "across", "recently", "both", "per",
    )
)  # fmt: skip
# a clause needs this many words that are not function words to be a fact of its own; shorter
# pieces belong to the clause before them ("... fraud for wealth, power, and influence")
_MIN_CONTENT = 2


@dataclass(frozen=True)
class EntityQuestion:
    """A question for one name (``head``: "Who", "Which company") and the facts it gives
    about it, one clause each."""

    head: str
    clauses: tuple[str, ...]

    def ask(self, clause: str) -> str:
        """One clause as a question of its own: "Who has pleaded not guilty?", "Which company
        that is accused of ...?" """
        if self.head.lower() in _WHO:
            return f"{self.head} {clause}?"
        return f"{self.head} that {clause}?"

    def fits(self, candidate: Candidate) -> bool:
        """Whether ``candidate`` can be what the head asks for: "who" asks for a person, and a
        name in capitals alone ("FTX", "SEC") is an organisation's or a thing's."""
        if self.head.lower() in _WHO:
            return not all(_acronym(w) for w in candidate.claim.words)
        return True

    def claim(self, name: str, clause: str) -> str:
        """One clause said of a candidate, as a question for the judge: "Is it true that
        Nordlicht is accused of dumping ballast water?" A sentence that names the candidate
        beside the answer ("FTX founder Sam Bankman-Fried is accused ...") answers the clause's
        question but not this one."""
        return f"Is it true that {name} {clause}?"


def entity_question(question: str, publishers: Iterable[str] = ()) -> EntityQuestion | None:
    """``question`` as a head and two or more clauses, or ``None`` when it is not a question
    for one name by several facts. A clause that only says where something was reported ("as
    reported by Fortune and TechCrunch") is no fact and is left out."""
    from fundstelle.ingest.language import question_language

    if question_language(question) != "en":
        # a German comma opens every subordinate clause ("Wer ist der Quarterback, der ...?"):
        # what follows restricts the noun before it, it is no fact of its own
        return None
    text = question.strip().rstrip("?").strip()
    tokens = text.split()
    if len(tokens) < 6:
        return None
    first = tokens[0].lower()
    if first in _WHO:
        head, body = tokens[0], " ".join(tokens[1:])
    elif first in _WHICH:
        cut = _head_end(tokens)
        if cut is None:
            return None
        head, body = " ".join(tokens[:cut]).rstrip(","), " ".join(tokens[cut:])
    else:
        return None
    body = re.sub(r"^[,\s]*(?:that|who|which)\s+", "", body, flags=re.I)
    publishers = list(publishers)  # read once per piece
    outlets = {w.lower() for p in publishers for w in _tokens(p)}
    clauses: list[str] = []
    for piece in _BOUNDARY.split(body):
        piece = _TRAIL.sub("", _LEAD.sub("", piece.strip(" ,;"))).strip(" ,;'\"")
        if not piece:
            continue
        if (
            named_publishers(piece, publishers)
            and _content(piece, outlets | _REPORTING) < _MIN_CONTENT
        ):
            continue  # "featured in articles by Sporting News": where, not what
        if _content(piece, outlets) < _MIN_CONTENT or _names_only(piece):
            if clauses:
                clauses[-1] = f"{clauses[-1]}, {piece}"
            continue
        clauses.append(piece)
    return EntityQuestion(head, tuple(clauses)) if len(clauses) >= 2 else None


def _head_end(tokens: list[str]) -> int | None:
    """Where the noun phrase after "which"/"what" ends ("Which company", "What is the name of
    the organization behind ChatGPT"): at a comma, a relative pronoun or a finite auxiliary;
    ``None`` when none comes within a few words (then the form is not known)."""
    start = 1
    if len(tokens) > 2 and tokens[1].lower() in AUXILIARIES_EN:
        # "What is the name of ...": the one form of "what is" that asks for a name ("What is
        # the first letter of ...", "What is the position held by ..." ask for something else)
        if [t.lower() for t in tokens[2:5]] != ["the", "name", "of"]:
            return None
        start = 2
        limit = 12
    else:
        limit = _HEAD_WORDS
    for i in range(start, min(len(tokens), start + limit + 1)):
        word = tokens[i].lower().strip(",")
        if i > start and (word in _RELATIVE or word in AUXILIARIES_EN):
            return i
        if tokens[i].endswith(","):
            return i + 1
    return None


def _content_words(piece: str, outlets: set[str] = frozenset()) -> list[str]:
    from .grounding import _function_words

    function = _function_words()
    return [w for w in _tokens(piece) if w.lower() not in function and w.lower() not in outlets]


def _content(piece: str, outlets: set[str]) -> int:
    return len(_content_words(piece, outlets))


def _names_only(piece: str) -> bool:
    """A piece of names alone continues a list ("in Italy, the Byzantine Empire and Armenia")."""
    content = _content_words(piece)
    return bool(content) and all(w[0].isupper() for w in content)


def _tokens(text: str) -> list[str]:
    return re.findall(r"\w[\w'’-]*", text)  # numbers count: "was elected in 2019"


@dataclass(frozen=True)
class Candidate:
    """A name the passages hold: ``name`` in its fullest spelling, ``claim`` to look it up."""

    name: str
    claim: Claim
    documents: int

    def named_in(self, source: SourceText) -> bool:
        """Whether ``source`` (a sentence prepared once for all candidates) names it."""
        return _name_grounded(self.claim, source)

    def spelled_in(self, text: str) -> str | None:
        """The words ``text`` names the candidate by (its fullest form there), verbatim."""
        for form in sorted(self._forms(), key=len, reverse=True):
            m = re.search(rf"(?<!\w){re.escape(form)}(?!\w)", text)
            if m:
                return m.group(0)
        return None

    def _forms(self) -> list[str]:
        ws = self.claim.words
        return [" ".join(ws[i:j]) for i in range(len(ws)) for j in range(i + 1, len(ws) + 1)]


def candidates(
    question: str, passages: Sequence[Passage], publishers: Iterable[str] = ()
) -> list[Candidate]:
    """The names of ``passages`` that the question does not name, most documents first: the
    thing a question describes by several facts is named in the articles of each fact. Times
    (months, weekdays) and the store's publishers are no candidates."""
    asked = {w.lower() for w in words(question)}
    outlets = {w.lower() for p in publishers for w in p.split()}
    calendar = lexicon.calendar_words()
    docs: dict[str, set[str]] = {}
    spelled: dict[str, tuple[str, ...]] = {}
    for p in passages:
        for c in claims(p.chunk.text, p.chunk.lang):
            if c.kind != "name":
                continue
            ws = tuple(_bare(w) for w in c.words)
            low = [w.lower() for w in ws]
            if not ws or all(w in asked or w in outlets or w in calendar for w in low):
                continue
            key = " ".join(low)
            docs.setdefault(key, set()).add(p.chunk.doc_id)
            spelled.setdefault(key, ws)
    # the forms of one name are one candidate ("Bankman-Fried", "Sam Bankman-Fried", "Former
    # FTX Co-Founder Sam Bankman-Fried"): a name joins the most cited name it contains or is
    # part of; the candidate is spelled by its longest form cited more than half as often
    groups: dict[str, list[str]] = {}
    for key in sorted(docs, key=lambda k: (-len(docs[k]), len(k))):
        parts = key.split()
        root = next(
            (r for r in groups if _contains(parts, r.split()) or _contains(r.split(), parts)), None
        )
        groups.setdefault(root or key, []).append(key)
    out: list[Candidate] = []
    for root, members in groups.items():
        cited = set().union(*(docs[k] for k in members))
        name = max(
            (k for k in members if 2 * len(docs[k]) > len(docs[root])),
            key=lambda k: (len(k.split()), len(docs[k])),
        )
        ws = spelled[name]
        out.append(Candidate(" ".join(ws), Claim(" ".join(ws), "name", ws), len(cited)))
    return sorted(out, key=lambda c: -c.documents)


def _bare(word: str) -> str:
    """A word without a possessive ending ("Google's" -> "Google")."""
    return re.sub(r"['’]s$", "", word)


def _contains(longer: list[str], shorter: list[str]) -> bool:
    n = len(shorter)
    return any(longer[i : i + n] == shorter for i in range(len(longer) - n + 1))


def answer(
    question: str,
    asked: EntityQuestion,
    passages: list[Passage],
    evidence: list[Evidence],
    publishers: Iterable[str],
    *,
    selector: EvidenceSelector,
    judged: Callable[[str, list[Evidence]], int | None],
    settings: Settings,
    relevance: float,
) -> list[Span]:
    """A question for one name by several facts, answered by a name of the
    passages: each clause is asked on its own and its ``bridge_sentences`` best sentences
    found; the names these sentences give for the most clauses are candidates, and the
    first for which the judge finds ``bridge_min_clauses`` clauses stated of it ("Is it
    true that <name> <clause>?") by sentences naming it is the answer, one span per such
    sentence (the name as it spells it). The sentences join ``evidence`` (numbered after
    it). ``asked``: the question read as one (:func:`entity_question`; with fewer than
    ``bridge_min_clauses`` clauses no candidate can cover enough of them); ``judged(query,
    sentences)``: the index of the sentence the judge takes, or None; ``relevance``: the
    calibrated margin of :func:`qa.verify.check_span`."""
    s = settings
    publishers = set(publishers)
    best: list[tuple[str, str, list[Evidence]]] = []
    for clause in asked.clauses:
        query = asked.ask(clause)
        named = named_publishers(clause, publishers)
        pool = [p for p in passages if not named or p.chunk.publisher in named]
        ranked = [ev for ev in selector.score(query, pool) if is_evidence(ev.text)]
        best.append((clause, query, ranked[: s.bridge_sentences]))
    # each best sentence prepared once for the lookups of every candidate
    source = {ev.key: SourceText(ev.text) for _, _, top in best for ev in top}

    def names(c: Candidate, ev: Evidence) -> bool:
        return c.named_in(source[ev.key])

    # the bridge is named where the facts are stated: count the clauses whose best
    # sentences name a candidate, not the passages that mention it anywhere
    found = candidates(question, passages, publishers)
    covers = {c.name: sum(any(names(c, ev) for ev in top) for _, _, top in best) for c in found}
    order = sorted(
        (c for c in found if covers[c.name] >= s.bridge_min_clauses and asked.fits(c)),
        key=lambda c: -covers[c.name],
    )
    for candidate in order[: s.bridge_candidates]:
        stated: list[tuple[Evidence, str]] = []  # a sentence and the words naming it
        for clause, query, top in best:
            sentences = [
                ev
                for ev in top
                if names(candidate, ev) and ev.key not in {x.key for x, _ in stated}
            ][: s.judge_sentences]
            if not sentences:
                continue
            chosen = judged(asked.claim(candidate.name, clause), sentences)
            if chosen is None:
                continue
            ev = sentences[chosen]
            spelled = candidate.spelled_in(ev.text) or ""
            span = Span(ev.n, spelled, ev.start, ev.end, spelled)
            check = verify.check_span(span, ev, query, top[0].score, margin=relevance)
            if spelled and check.ok:
                stated.append((ev, spelled))
        if len(stated) >= s.bridge_min_clauses:
            return _spans(candidate, stated, evidence)
    return []


def _spans(
    candidate: Candidate, stated: list[tuple[Evidence, str]], evidence: list[Evidence]
) -> list[Span]:
    known = {ev.key: ev.n for ev in evidence}
    spans: list[Span] = []
    for ev, named in stated:
        n = known.get(ev.key)
        if n is None:
            n = max((e.n for e in evidence), default=0) + 1
            ev.n = n
            evidence.append(ev)
            known[ev.key] = n
        at = ev.start + ev.text.index(named)
        # one name for all its spellings: the answer shows the fullest ("Sam Bankman-Fried")
        spans.append(Span(n, named, at, at + len(named), candidate.name))
    return spans
