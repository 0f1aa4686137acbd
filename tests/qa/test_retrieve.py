import shutil
from pathlib import Path

from fundstelle.core.settings import Settings
from fundstelle.ingest.pipeline import ingest
from fundstelle.ingest.store import Store
from fundstelle.ingest.types import Chunk
from fundstelle.qa.engine import Engine
from fundstelle.qa.retrieve import Retriever, collapse_near_duplicates, fuse
from fundstelle.qa.types import Filters, Passage

from tests.conftest import CORPUS


def _article(path: Path, title: str, date: str, text: str, publisher: str | None = None) -> None:
    """An English Markdown article with front matter."""
    head = f"title: {title}\ndate: {date}\nlang: en\n"
    head += f"publisher: {publisher}\n" if publisher else ""
    path.write_text(f"---\n{head}---\n{text}\n")


def _corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "c"
    shutil.copytree(CORPUS, corpus)
    story = (
        "The harbour of Hamburg expects more ships. Ukraine exports grain through Romanian ports."
    )
    _article(corpus / "en.md", "Harbour news", "2023-05-01", story, "Port Gazette")
    # a syndicated copy of the English story under another name
    _article(corpus / "copy.md", "Harbour news (copy)", "2023-05-02", story)
    return corpus


def test_filters_by_date_language_and_source(tmp_path: Path) -> None:
    settings = Settings(store_path=tmp_path / "s")
    ingest([_corpus(tmp_path)], settings)
    r = Retriever(settings)
    q = "Ukraine"
    everything = r.search(q, k=10).passages
    assert {p.chunk.lang for p in everything} == {"de", "en"}
    only_de = r.search(q, k=10, filters=Filters(languages=("de",))).passages
    assert only_de and {p.chunk.lang for p in only_de} == {"de"}
    jan = r.search(q, k=10, filters=Filters(date_from="2026-01-01", date_to="2026-01-31")).passages
    assert jan and {p.chunk.date for p in jan} == {"2026-01-07"}
    by_name = r.search(q, k=10, filters=Filters(sources=("en.md",))).passages
    assert by_name and {Path(p.chunk.source).name for p in by_name} == {"en.md"}
    assert r.search(q, filters=Filters(sources=("nothing-*.txt",))).passages == []


def test_a_source_whose_file_name_holds_a_hash_sign_is_found_by_its_path(tmp_path: Path) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    _article(corpus / "fares#2025.md", "Fares", "2025-01-02", "Ukraine raises rail fares.")
    _article(corpus / "other.md", "Other", "2025-01-03", "Ukraine opens a port.")
    settings = Settings(store_path=tmp_path / "s")
    ingest([corpus], settings)
    r = Retriever(settings)
    for wanted in (str(corpus / "fares#2025.md"), "fares#*.md"):
        found = r.search("Ukraine", k=10, filters=Filters(sources=(wanted,))).passages
        assert found and {Path(p.chunk.source).name for p in found} == {"fares#2025.md"}


def test_near_duplicates_are_collapsed(tmp_path: Path) -> None:
    settings = Settings(store_path=tmp_path / "s")
    ingest([_corpus(tmp_path)], settings)
    passages = Retriever(settings).search("harbour of Hamburg ships", k=5).passages
    harbour = [p for p in passages if "Hamburg" in p.chunk.text]
    assert len(harbour) == 1


def test_collapse_keeps_overlapping_neighbours_of_one_document() -> None:
    def p(doc: str, cid: str, text: str) -> Passage:
        return Passage(
            Chunk(
                doc_id=doc,
                index=0,
                text=text,
                start=0,
                end=len(text),
                source=doc,
                title=doc,
                chunk_id=cid,
            ),
            1.0,
        )

    a = p("d1", "c1", "one two three four five six")
    b = p("d1", "c2", "one two three four five six seven")  # same document, another chunk
    c = p("d2", "c3", "one two three four five six")  # another document, same text
    assert collapse_near_duplicates([a, b, c]) == [a, b]
    d = p("d3", "c4", "seven eight nine ten eleven twelve")
    # a limit keeps the first that are no duplicates, the duplicate skipped on the way
    assert collapse_near_duplicates([a, c, d, b], limit=2) == [a, d]


def _half_written(tmp_path: Path) -> tuple[Settings, Store, str, dict]:
    """The shipped article ingested, then its record set back to pending, as a crash between
    writing its chunks and committing it leaves it: (settings, store, its id, its record)."""
    settings = Settings(store_path=tmp_path / "s")
    ingest([CORPUS], settings)
    store = Store.open(settings)
    (doc,) = store.documents()
    meta = store._docs.get(ids=[doc.doc_id], include=["metadatas"])["metadatas"][0]
    store._docs.update(ids=[doc.doc_id], metadatas=[{**meta, "status": "pending"}])
    return settings, store, doc.doc_id, meta


def test_half_written_documents_are_not_retrieved(tmp_path: Path) -> None:
    settings, store, doc_id, _ = _half_written(tmp_path)
    store._mark_pending([doc_id])
    assert store.pending_ids() == {doc_id}
    assert Retriever(settings).search("Stützpunkte Ukraine").passages == []


def test_a_store_without_the_pending_collection_is_scanned_and_then_given_one(
    tmp_path: Path,
) -> None:
    """Stores written before the pending marks: their pending records are found by a scan,
    and the next ingest creates the marks from that scan; a mark whose record says complete
    (stopped between the two writes) is dropped by the repair, the document kept."""
    from fundstelle.ingest.store import collection_names

    settings, store, doc_id, meta = _half_written(tmp_path)
    store.client.delete_collection(collection_names(settings.collection)[2])
    old = Store.open(settings)
    assert old._pending is None and old.pending_ids() == {doc_id}
    assert Retriever(settings).search("Stützpunkte Ukraine").passages == []
    old.ensure(old.embedding_model or "", None)  # what ingest does first
    assert old._pending is not None and old.pending_ids() == {doc_id}
    # the record says complete again, the mark is left: the repair keeps the document
    old._docs.update(ids=[doc_id], metadatas=[meta])
    assert old.repair() == 0 and old.pending_ids() == set()
    assert [d.doc_id for d in old.documents()] == [doc_id]
    assert Retriever(settings).search("Stützpunkte Ukraine").passages


def test_score_fusion_adds_weighted_min_max_scores() -> None:
    dense = [("a", 1.0), ("b", 0.75), ("c", 0.5)]
    keyword = [("c", 21.0), ("a", 1.0)]
    fused = fuse([(dense, lambda cid: 1.0), (keyword, lambda cid: 2.0)], "score")
    # dense scaled to a=1, b=0.5, c=0; keyword to c=1, a=0
    assert fused == {"a": 1.0, "b": 0.5, "c": 2.0}
    # a keyword list weighted 0 for every chunk (another language) changes nothing
    assert fuse([(dense, lambda cid: 1.0), (keyword, lambda cid: 0.0)], "score") == {
        "a": 1.0,
        "b": 0.5,
        "c": 0.0,
    }


def test_rank_fusion_uses_ranks_only() -> None:
    dense = [("a", 0.9), ("b", 0.1)]
    keyword = [("b", 100.0)]
    fused = fuse([(dense, lambda cid: 1.0), (keyword, lambda cid: 2.0)], "rrf", rrf_k=10)
    assert fused["a"] == 1 / 11
    assert fused["b"] == 1 / 12 + 2 / 11


def test_translated_keyword_search_matches_german_chunks(tmp_path: Path) -> None:
    settings = Settings(store_path=tmp_path / "s")
    ingest([_corpus(tmp_path)], settings)
    r = Retriever(settings)
    english = r.search("bases", k=10, mode="bm25").passages
    assert all(p.chunk.lang == "en" for p in english)  # no English word "bases" in German text
    both = r.search("bases", k=10, mode="bm25", translations={"de": "Stützpunkte"}).passages
    assert both[0].chunk.lang == "de" and "Stützpunkte" in both[0].chunk.text


def test_keyword_search_sees_publisher_and_title(tmp_path: Path) -> None:
    settings = Settings(store_path=tmp_path / "s")
    ingest([_corpus(tmp_path)], settings)
    r = Retriever(settings)
    # neither word is in any text: one names the publisher, the other the title
    (hit,) = r.search("gazette", k=5, mode="bm25").passages
    assert hit.chunk.publisher == "Port Gazette" and hit.chunk.title == "Harbour news"
    titled = r.search("copy", k=5, mode="bm25").passages
    assert [p.chunk.title for p in titled] == ["Harbour news (copy)"]


def _two_publishers(tmp_path: Path) -> Path:
    corpus = tmp_path / "news"
    corpus.mkdir()
    _article(
        corpus / "gazette.md",
        "Port report",
        "2023-05-01",
        "Ships are expected in the port this summer.",
        "Port Gazette",
    )
    _article(
        corpus / "times.md",
        "Hamburg harbour ships",
        "2023-06-02",
        "More ships in the Hamburg harbour: Hamburg expects ships, ships and more ships.",
        "Harbour Times",
    )
    return corpus


def test_passages_of_a_named_publisher_or_day_come_first(tmp_path: Path) -> None:
    settings = Settings(store_path=tmp_path / "s")
    ingest([_two_publishers(tmp_path)], settings)
    q = "What did the Port Gazette write about more ships in the Hamburg harbour?"
    plain = Retriever(settings.with_overrides(prefer_named_sources=False)).search(q, k=2)
    assert plain.passages[0].chunk.publisher == "Harbour Times"  # more shared words
    assert not plain.named and plain.passages[0].named_matches == 0
    r = Retriever(settings)
    named = r.search(q, k=2)
    assert named.named.publishers == {"Port Gazette"}
    assert [p.chunk.publisher for p in named.passages] == ["Port Gazette", "Harbour Times"]
    assert [p.named_matches for p in named.passages] == [1, 0] and named.reordered
    by_day = r.search("Hamburg harbour ships reported on May 1, 2023", k=2)
    assert by_day.passages[0].chunk.date == "2023-05-01" and by_day.passages[0].named_matches == 1


def test_naming_the_only_day_of_the_store_changes_nothing(seed_settings: Settings) -> None:
    # every passage of the one-article store is of 2026-01-07: the date is recognised, but the
    # answer does not claim that it put any passages first
    q = "What did the article of January 7, 2026 say about bases in Ukraine?"
    found = Retriever(seed_settings).search(q, k=3)
    assert found.named.dates == {"2026-01-07"} and not found.reordered
    answer = Engine(seed_settings.with_overrides(backend="extractive")).answer(q)
    assert answer.named_sources == []
