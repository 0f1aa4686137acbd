import itertools

from fundstelle.ingest.chunker import chunk_document, chunk_spans
from fundstelle.ingest.sentences import split_sentences
from fundstelle.ingest.types import Document
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import SEED


def _doc(text: str) -> Document:
    return Document(source="x.txt", text=text, title="x", sha256="0")


def test_chunks_reproduce_document_text_and_carry_provenance() -> None:
    text = SEED.read_text(encoding="utf-8")
    doc = _doc(text)
    chunks = chunk_document(doc, 500, 1)
    assert len(chunks) > 3
    for c in chunks:
        assert text[c.start : c.end] == c.text
        assert c.doc_id == doc.doc_id and c.source == "x.txt"
        assert len(c.text) <= 500


def test_overlap_repeats_the_last_sentence() -> None:
    text = " ".join(f"Satz Nummer {i} steht hier." for i in range(30))
    spans = chunk_spans(text, 120, 1)
    for (_s0, e0), (s1, _e1) in itertools.pairwise(spans):
        assert s1 < e0, "consecutive chunks share a sentence"
        last_sentence = next(sp for sp in split_sentences(text) if sp[1] == e0)
        assert s1 == last_sentence[0]


def test_no_overlap_gives_disjoint_chunks() -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(30))
    spans = chunk_spans(text, 120, 0)
    assert all(e0 <= s1 for (_s0, e0), (s1, _e1) in itertools.pairwise(spans))


def test_overlong_sentence_is_split_at_whitespace() -> None:
    text = "wort " * 400
    spans = chunk_spans(text, 200, 1)
    assert all(e - s <= 200 for s, e in spans)
    assert all(not text[s:e].startswith(" ") and not text[s:e].endswith(" ") for s, e in spans)
    covered = "".join(text[s:e] for s, e in spans).replace(" ", "")
    assert covered == text.replace(" ", "")


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.text(alphabet='abcdefgh ÄÖÜ.,!?„“"\n', min_size=0, max_size=80), min_size=0, max_size=30
    ),
    st.integers(min_value=100, max_value=600),
    st.integers(min_value=0, max_value=3),
)
def test_chunking_covers_every_character_and_respects_size(
    parts: list[str], size: int, overlap: int
) -> None:
    text = " ".join(parts)
    spans = chunk_spans(text, size, overlap)
    covered = [False] * len(text)
    for s, e in spans:
        assert 0 <= s < e <= len(text)
        assert e - s <= size
        for i in range(s, e):
            covered[i] = True
    assert all(covered[i] for i, ch in enumerate(text) if not ch.isspace())
    starts = [s for s, _ in spans]
    assert starts == sorted(set(starts)), "chunks advance"
