import json
from pathlib import Path

import pytest
from fundstelle.core.errors import SkipFile
from fundstelle.eval.datasets import multihop_corpus_path
from fundstelle.ingest.decode import decode_text
from fundstelle.ingest.loaders import load_file

from tests.conftest import SEED
from tests.fixtures.pdf import make_pdf

BIG = 50_000_000


def _load(path: Path):
    return load_file(path, str(path), BIG)


def test_decode_utf8_cp1252_latin1_utf16() -> None:
    text = "Größe „Zitat“ kostet 5 €."
    assert decode_text(text.encode("utf-8")) == text
    assert decode_text(text.encode("cp1252")) == text
    assert decode_text("Straße und Grüße".encode("latin-1")) == "Straße und Grüße"
    assert decode_text(text.encode("utf-16")) == text
    assert decode_text(b"\xef\xbb\xbf" + text.encode("utf-8")) == text


@pytest.mark.parametrize(
    "data,reason",
    [(b"", "empty"), (b"   \n\t", "empty"), (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary")],
)
def test_decode_rejects_empty_and_binary(data: bytes, reason: str) -> None:
    with pytest.raises(SkipFile, match=reason):
        decode_text(data)


def test_seed_text_date_token_is_metadata(tmp_path: Path) -> None:
    loaded = _load(SEED)
    (doc,) = loaded.documents
    assert doc.date == "2026-01-07"
    assert doc.text.startswith("Bundeskanzler Friedrich Merz")
    assert "date 2026" not in doc.text
    assert doc.lang == "de"
    assert doc.title == "Koalition der Willigen Paris Schutztruppe Ukraine"
    assert len(doc.sha256) == 64 and doc.doc_id


def test_markdown_front_matter(tmp_path: Path) -> None:
    p = tmp_path / "note.md"
    p.write_text(
        "---\ntitle: Ein Titel\ndate: 2024-05-01\nurl: https://example.org/a\nlang: de\n"
        "publisher: Tagesschau\n---\n"
        "# Überschrift\n\nDer Text beginnt hier. Er geht weiter.\n",
        encoding="utf-8",
    )
    (doc,) = _load(p).documents
    assert (doc.title, doc.date, doc.url, doc.lang, doc.publisher) == (
        "Ein Titel",
        "2024-05-01",
        "https://example.org/a",
        "de",
        "Tagesschau",
    )
    assert doc.text.startswith("# Überschrift")


def test_markdown_without_front_matter_takes_heading_as_title(tmp_path: Path) -> None:
    p = tmp_path / "x.md"
    p.write_text("# The Heading\n\nSome English text that is long enough to detect.\n")
    (doc,) = _load(p).documents
    assert doc.title == "The Heading" and doc.lang == "en"


def test_html_main_text_without_boilerplate(tmp_path: Path) -> None:
    p = tmp_path / "a.html"
    p.write_text(
        """<html><head><title>Seite | Zeitung</title><meta property="og:title" content="Merz in Paris">
        <meta property="article:published_time" content="2026-01-07T10:00:00+01:00"></head>
        <body><nav><a href="/">Startseite</a> Politik Wirtschaft</nav>
        <article><h1>Merz in Paris</h1><p>Bundeskanzler Friedrich Merz möchte, dass sich Deutschland
        beteiligt. Er hatte bisher eine Präsenz ausgeschlossen.</p>
        <p>Frankreich und Großbritannien waren deutlicher.</p><script>var tracking = 1;</script></article>
        <footer>Impressum Datenschutz Cookie-Einstellungen</footer></body></html>""",
        encoding="utf-8",
    )
    (doc,) = _load(p).documents
    assert doc.title == "Merz in Paris"
    assert doc.date == "2026-01-07"
    assert "Frankreich und Großbritannien waren deutlicher." in doc.text
    for junk in ("Startseite", "Impressum", "tracking"):
        assert junk not in doc.text


def test_pdf_pages_are_kept(tmp_path: Path) -> None:
    p = tmp_path / "report.pdf"
    p.write_bytes(make_pdf(["First page says hello.", "Second page says goodbye."], title="Report"))
    (doc,) = _load(p).documents
    assert doc.title == "Report"
    assert doc.date == "2024-03-15"
    i = doc.text.index("Second page")
    assert doc.page_at(0) == 1 and doc.page_at(i) == 2


@pytest.mark.parametrize(
    "data,reason",
    [
        (b"%PDF-1.4\n1 0 obj << /Type /Catalog", "broken PDF"),
        (b"this is not a pdf at all", "not a PDF"),
    ],
)
def test_broken_pdf_is_skipped(tmp_path: Path, data: bytes, reason: str) -> None:
    p = tmp_path / "bad.pdf"
    p.write_bytes(data)
    with pytest.raises(SkipFile, match=reason):
        _load(p)


def test_jsonl_collection_with_bad_records(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl"
    rows = [
        {
            "title": "A",
            "body": "Alpha text here.",
            "published_at": "2023-11-27T08:45:59+00:00",
            "url": "u1",
            "source": "TechCrunch",
        },
        {"title": "B", "body": ""},
        "not an object",
    ]
    p.write_text("\n".join(json.dumps(r) for r in rows) + "\n{broken\n")
    loaded = _load(p)
    assert [d.title for d in loaded.documents] == ["A"]
    assert loaded.documents[0].date == "2023-11-27"
    assert loaded.documents[0].publisher == "TechCrunch"  # MultiHop-RAG's name for it
    assert loaded.documents[0].source.endswith("a.jsonl#u1")
    assert len(loaded.problems) == 3


def test_multihop_corpus_gives_609_articles() -> None:
    path = multihop_corpus_path()
    if not path.exists():
        pytest.skip("../shared/datasets not present")
    docs = _load(path).documents
    assert len(docs) == 609
    assert len({d.doc_id for d in docs}) == 609
    assert all(d.url and d.date and d.title and d.publisher for d in docs)


def test_size_limit(tmp_path: Path) -> None:
    p = tmp_path / "big.txt"
    p.write_text("x" * 2000)
    with pytest.raises(SkipFile, match="limit"):
        load_file(p, str(p), 1000)


def test_unsupported_extension(tmp_path: Path) -> None:
    p = tmp_path / "a.docx"
    p.write_bytes(b"PK\x03\x04")
    with pytest.raises(SkipFile, match=r"unsupported file type \.docx"):
        _load(p)
