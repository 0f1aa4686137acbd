"""Evaluation metrics as pure functions: each returns per-item scores or an aggregate.

Nothing here touches the store or a model, so every metric is unit-tested on hand-made cases.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from typing import Any

from fundstelle.ingest import lexicon
from fundstelle.ingest.language import answer_language, without_quotes
from fundstelle.qa.question import expected_kind, is_yes_no
from fundstelle.qa.types import Answer

# --- retrieval --------------------------------------------------------------------------------


def first_hit_rank(
    retrieved: Sequence[str], evidence: Sequence[str], k: int | None = None
) -> int | None:
    """1-based rank of the first retrieved text containing any evidence quote (whitespace-insensitive)."""
    gold = [_squash(e) for e in evidence if e.strip()]
    for rank, text in enumerate(retrieved[:k] if k else retrieved, start=1):
        flat = _squash(text)
        if any(g in flat for g in gold):
            return rank
    return None


def hit_at_k(rank: int | None, k: int) -> float:
    return 1.0 if rank is not None and rank <= k else 0.0


def reciprocal_rank(rank: int | None, k: int | None = None) -> float:
    if rank is None or (k is not None and rank > k):
        return 0.0
    return 1.0 / rank


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def multihop_query_scores(retrieved: Sequence[str], facts: Sequence[str]) -> dict[str, float]:
    """MultiHop-RAG's retrieval scores for one query, as its ``retrieval_evaluate.py`` defines them.

    Spaces and newlines are removed from facts and chunks; a chunk is relevant when a gold fact is
    a substring of it. Hits@4/@10: a relevant chunk in the top 4/10. MRR@10: 1/rank of the first
    relevant chunk. MAP@10: at each relevant rank r, (facts first found there)/r, summed and
    divided by min(#facts, 10).
    """
    gold = [f.replace(" ", "").replace("\n", "") for f in facts]
    found: set[int] = set()
    ap_sum = 0.0
    first: int | None = None
    for rank, text in enumerate(retrieved[:10], start=1):
        flat = text.replace(" ", "").replace("\n", "")
        inside = [i for i, g in enumerate(gold) if g in flat]
        if not inside:
            continue
        if first is None:
            first = rank
        new = [i for i in inside if i not in found]
        found.update(new)
        ap_sum += len(new) / rank
    return {
        "hits@4": 1.0 if first is not None and first <= 4 else 0.0,
        "hits@10": 1.0 if first is not None else 0.0,
        "map@10": ap_sum / min(len(gold), 10) if gold else 0.0,
        "mrr@10": 1.0 / first if first else 0.0,
    }


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def mean_dict(rows: Sequence[dict[str, float]]) -> dict[str, float]:
    keys = list(rows[0]) if rows else []
    return {k: mean([r[k] for r in rows]) for k in keys}


# --- answers ------------------------------------------------------------------------------------


def _number(word: str) -> str:
    """A number word of either language as digits ("zwölf", "twelve" -> "12"; ingest.lexicon)."""
    value = lexicon.cardinal_value(word)
    return str(value) if value is not None else word


# dropped like SQuAD's official evaluation drops "a", "an", "the": "eine multikulturelle Stadt"
# is answered by "multikulturelle Stadt"
_ARTICLES = frozenset(
    [
        "a",
        "an",
        "the",
        "der",
        "die",
        "das",
        "den",
        "dem",
        "des",
        "ein",
        "eine",
        "einen",
        "einem",
        "einer",
        "eines",
    ]
)


def normalize(text: str) -> str:
    """Lower case, no accents, no punctuation, no articles (English and German, as SQuAD's
    evaluation drops English ones), number words as digits, single spaces."""
    text = unicodedata.normalize("NFKD", text.lower().replace("ß", "ss"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"(?<=\d)[.,](?=\d{3}\b)", "", text)  # 1,000 / 1.000 -> 1000
    text = re.sub(r"%", " % ", text)  # "90%" and "90 %" alike
    text = re.sub(r"[^\w%]+", " ", text)
    words = [_number(w) for w in text.split() if w not in _ARTICLES]
    return " ".join(words)


def fact_present(answer: str, alternatives: Sequence[str]) -> bool:
    """True when any alternative of one required fact occurs in the answer (as whole words)."""
    norm = f" {normalize(answer)} "
    return any(f" {normalize(alt)} " in norm for alt in alternatives if normalize(alt))


def answer_correct(answer: str, facts: Sequence[Sequence[str]]) -> bool:
    """Every required fact (a list of acceptable alternatives) is present after normalisation."""
    return bool(facts) and all(fact_present(answer, alts) for alts in facts)


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD-style token F1 after :func:`normalize`."""
    pred, ref = normalize(prediction).split(), normalize(reference).split()
    if not pred or not ref:
        return float(pred == ref)
    common = Counter(pred) & Counter(ref)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def multihop_answer_correct(prediction: str, gold: str) -> bool:
    """MultiHop-RAG's QA rule: the prediction shares a lower-cased whitespace token with the gold."""
    return bool(set(prediction.lower().split()) & set(gold.lower().split()))


def multihop_plain(text: str) -> str:
    """Text without citation markers and punctuation, for :func:`multihop_answer_correct` on both
    sides: our answers carry ``[1]`` and commas, and 13 upstream golds end in a full stop
    ("Sportsbooks."), which upstream's raw token rule would never match against a short answer."""
    return re.sub(r"\[\d+\]|[^\w\s'-]", " ", text)


# --- citations (in the spirit of ALCE) -----------------------------------------------------------


def citation_scores(sentences: Sequence[tuple[bool, Sequence[bool]]]) -> dict[str, float]:
    """Citation recall and precision over answer sentences.

    Each item is ``(needs_support, [supports for each citation attached])``. Recall: sentences
    needing support that carry at least one supporting citation. Precision: attached citations
    that support their sentence.
    """
    needing = [cites for needs, cites in sentences if needs]
    recall = mean([1.0 if any(c) else 0.0 for c in needing]) if needing else 1.0
    all_cites = [c for _, cites in sentences for c in cites]
    precision = mean([1.0 if c else 0.0 for c in all_cites]) if all_cites else 0.0
    return {"citation_recall": recall, "citation_precision": precision}


# --- refusal and the CRAG score -------------------------------------------------------------------


def refusal_scores(items: Sequence[tuple[bool, bool]]) -> dict[str, float]:
    """``(unanswerable, refused)`` per item -> precision/recall of refusing, wrong refusals."""
    refused = [u for u, r in items if r]
    unanswerable = [r for u, r in items if u]
    answerable = [r for u, r in items if not u]
    return {
        "refusal_precision": mean([1.0 if u else 0.0 for u in refused]) if refused else 1.0,
        "refusal_recall": mean([1.0 if r else 0.0 for r in unanswerable]) if unanswerable else 1.0,
        "wrong_refusal_rate": mean([1.0 if r else 0.0 for r in answerable]) if answerable else 0.0,
    }


def crag_score(outcome: str) -> int:
    """CRAG-style: +1 correct, 0 refusal ("missing"), -1 wrong (a hallucination)."""
    return {"correct": 1, "refused": 0, "wrong": -1}[outcome]


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


# --- where answers are lost ---------------------------------------------------------------------


# function words that only one of the two languages has: one of them in an answer means the
# answer is (at least partly) in that language ("The ungünstigen Taifuns", "place 139 of
# insgesamt 176 countries")
_ONLY_GERMAN = frozenset(
    [
        "und",
        "der",
        "den",
        "dem",
        "des",
        "das",
        "ein",
        "eine",
        "einen",
        "einem",
        "einer",
        "eines",
        "nicht",
        "mit",
        "von",
        "zu",
        "zum",
        "zur",
        "für",
        "auf",
        "ist",
        "sind",
        "wurde",
        "wurden",
        "werden",
        "oder",
        "aber",
        "bei",
        "nach",
        "aus",
        "durch",
        "über",
        "unter",
        "im",
        "vom",
        "sich",
        "auch",
        "nur",
        "noch",
        "insgesamt",
        "sowie",
        "sehr",
        "mehr",
        "wird",
        "wie",
        "dass",
    ]
)
_ONLY_ENGLISH = frozenset(
    [
        "the",
        "and",
        "of",
        "with",
        "for",
        "from",
        "is",
        "are",
        "were",
        "be",
        "been",
        "this",
        "that",
        "which",
        "who",
        "to",
        "by",
        "on",
        "at",
        "it",
        "its",
        "their",
        "not",
        "or",
        "but",
        "than",
        "more",
        "very",
        "has",
        "have",
        "had",
        "will",
        "would",
    ]
)


def answer_language_ok(answer: str, language: str, min_words: int = 4) -> bool:
    """Whether an answer is written wholly in ``language`` (en/de), judged for every answer,
    short and mixed ones included: quotes and markers are left out (quotes stay in the source's
    language); a function word only the other language has, or (for English) a letter only
    German writes, makes it not; an answer of ``min_words`` words or more must also be
    detected as that language. A bare name or number is in any language, and so are names
    alone ("Amy Pond (Karen Gillan)": every word capitalised, which no English or German
    sentence is)."""
    bare = without_quotes(answer)
    words = re.findall(r"[^\W\d_]{2,}", bare)
    if not words:
        return True
    lower = [w.lower() for w in words]
    foreign = _ONLY_ENGLISH if language == "de" else _ONLY_GERMAN
    if any(w in foreign for w in lower):
        return False
    if language == "en" and re.search(r"[äöüÄÖÜß]", bare):
        return False
    if all(w[0].isupper() for w in words):
        return True
    if len(words) >= min_words:
        return answer_language(bare, min_words) in (None, language)
    return True


def citation_support(answer: Answer) -> bool | None:
    """Automatic proxy of "every cited quote states what its sentence claims": each answer
    sentence's key values (its names and numbers, in either language by CLDR and num2words)
    stand in every quote it cites (with that quote's document title, publisher and date), and
    the words a citation says the answer copies stand in its quote. ``None`` for a refusal."""
    if answer.refused:
        return None
    from fundstelle.qa.grounding import claims, ungrounded_claims

    for c in answer.citations:
        if c.words and c.words not in c.quote:
            return False
    for sentence in answer.sentences:
        cited = [answer.citation(n) for n in sentence.citations]
        key = [k for k in claims(without_quotes(sentence.text)) if k.kind != "magnitude"]
        for c in cited:
            if c is None:
                return False
            source = "\n".join(x for x in (c.quote, c.title, c.publisher or "", c.date or "") if x)
            if key and ungrounded_claims(key, [source]):
                return False
    return True


def asks_value(question: str) -> bool:
    """A factoid question: it asks for a value of a kind (a date, a number, a person, a place),
    not for a yes or no and not for an explanation."""
    return bool(question) and expected_kind(question) is not None and not is_yes_no(question)


def translations(answer: Answer) -> list[dict[str, Any]]:
    """The translations an answer's spans were given (shown or not), for a report to show what
    the translation checks kept out: the source's words, the translation, its mean token
    log-probability and whether it was shown."""
    return [
        {
            "words": s.words,
            "translation": s.translation,
            "logprob": None if s.translation_logprob is None else round(s.translation_logprob, 3),
            "shown": s.translated,
        }
        for s in answer.spans
        if s.translation or s.translated
    ]


def answer_words(answer: str) -> int:
    """An answer's length in words, markers left out."""
    return len(re.sub(r"\[\d+\]", " ", answer).split())


def loss_summary(rows: Sequence[dict]) -> dict[str, float]:
    """Where answers are lost, over answered rows with ``correct``, ``refused`` and (where the
    gold can be looked for) ``in_evidence``: the share whose gold is inside the evidence shown to
    the generator, the share of those answered correctly (what the answer step keeps), refusals,
    and the share of answers written in the question's language. ``words_p50_factoid``: the
    median length of the answers to questions that ask for a value (who, when, how many ...),
    where a short answer is the aim; an open question is answered by its sentence."""
    out: dict[str, float] = {}
    judged = [r for r in rows if r.get("in_evidence") is not None]
    if judged:
        held = [r for r in judged if r["in_evidence"]]
        out["in_evidence"] = mean([1.0 if r["in_evidence"] else 0.0 for r in judged])
        out["kept_of_evidence"] = mean([1.0 if r["correct"] else 0.0 for r in held])
        out["refused_of_evidence"] = mean([1.0 if r["refused"] else 0.0 for r in held])
    langs = [r["language_ok"] for r in rows if r.get("language_ok") is not None]
    if langs:
        out["answer_language"] = mean([1.0 if ok else 0.0 for ok in langs])
        out["answer_language_judged"] = len(langs)
    answered = [r for r in rows if not r.get("refused") and "words" in r]
    if answered:
        out["words_p50"] = percentile([r["words"] for r in answered], 50)
        factoid = [r["words"] for r in answered if asks_value(r.get("question") or "")]
        if factoid:
            out["words_p50_factoid"] = percentile(factoid, 50)
        supported = [
            r["citation_support"] for r in answered if r.get("citation_support") is not None
        ]
        if supported:
            out["citation_support"] = mean([1.0 if ok else 0.0 for ok in supported])
        kinds = [r.get("kind") for r in rows if r.get("kind")]
        if kinds:
            out["quotes"] = mean([1.0 if k == "quotes" else 0.0 for k in kinds])
    f1 = [r["f1"] for r in rows if r.get("f1") is not None]
    if f1:
        out["token_f1"] = mean(f1)
    return out
