import io
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


EXCERPTS = Path(__file__).resolve().parents[1] / "fixtures" / "datasets" / "excerpts"


def test_multihop_corpus_articles_keep_their_metadata() -> None:
    """Three articles cut from MultiHop-RAG's corpus.json (ODC-BY 1.0, tests/fixtures/datasets/
    excerpts): one document each, with its url, date, title and outlet."""
    path = multihop_corpus_path(EXCERPTS)
    raw = json.loads(path.read_text())
    docs = _load(path).documents
    assert len(docs) == len(raw) == 3
    assert len({d.doc_id for d in docs}) == 3
    for doc, article in zip(docs, raw, strict=True):
        assert (doc.title, doc.url) == (article["title"], article["url"])
        assert doc.date == article["published_at"][:10]
        assert doc.publisher == article["source"]
        assert doc.text.strip().startswith(article["body"].strip()[:200])


def test_size_limit(tmp_path: Path) -> None:
    p = tmp_path / "big.txt"
    p.write_text("x" * 2000)
    with pytest.raises(SkipFile, match="limit"):
        load_file(p, str(p), 1000)


def test_unsupported_extension(tmp_path: Path) -> None:
    p = tmp_path / "a.xlsx"
    p.write_bytes(b"PK\x03\x04")
    with pytest.raises(SkipFile, match=r"unsupported file type \.xlsx"):
        _load(p)


def _docx(blocks: list[tuple[str, str]], title: str = "") -> bytes:
    import docx

    word = docx.Document()
    word.core_properties.title = title
    for kind, text in blocks:
        if kind == "h":
            word.add_heading(text, 1)
        elif kind == "table":
            table = word.add_table(rows=1, cols=2)
            table.cell(0, 0).text, table.cell(0, 1).text = text.split("|")
        else:
            word.add_paragraph(text)
    buf = io.BytesIO()
    word.save(buf)
    return buf.getvalue()


def _odt(blocks: list[tuple[str, str]], title: str = "") -> bytes:
    import odfdo

    doc = odfdo.Document("text")
    doc.body.clear()
    if title:
        doc.meta.set_title(title)
    for kind, text in blocks:
        doc.body.append(odfdo.Header(1, text) if kind == "h" else odfdo.Paragraph(text))
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


BLOCKS = [
    ("h", "Hafenbericht"),
    ("p", "Der Hafen von Kiel wurde im Winter ausgebaut."),
    ("h", "Die Mole"),
    ("p", "Die neue Mole ist 420 Meter lang und wurde im Mai eröffnet."),
]
EXPECTED = (
    "Hafenbericht\n\nDer Hafen von Kiel wurde im Winter ausgebaut.\n\nDie Mole\n\n"
    "Die neue Mole ist 420 Meter lang und wurde im Mai eröffnet."
)


@pytest.mark.parametrize("suffix,make", [(".docx", _docx), (".odt", _odt)])
def test_office_documents_keep_headings_and_paragraphs(tmp_path: Path, suffix: str, make) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / f"2026-01-07_bericht{suffix}"
    p.write_bytes(make(BLOCKS))
    (doc,) = _load(p).documents
    assert doc.text == EXPECTED
    assert doc.title == "Hafenbericht"  # the first heading, where the file has no title
    assert doc.date == "2026-01-07" and doc.lang == "de"  # from the name; the template's is not
    p.write_bytes(make(BLOCKS, title="Bericht über den Hafen"))
    assert _load(p).documents[0].title == "Bericht über den Hafen"
    from fundstelle.ingest.chunker import chunk_document

    for chunk in chunk_document(doc, 60, 0):
        assert doc.text[chunk.start : chunk.end] == chunk.text


def test_a_word_table_is_kept_row_by_row(tmp_path: Path) -> None:
    p = tmp_path / "mole.docx"
    p.write_bytes(_docx([("p", "Die Maße:"), ("table", "Mole|420 Meter")]))
    assert _load(p).documents[0].text == "Die Maße:\n\nMole | 420 Meter"


@pytest.mark.parametrize("suffix", [".docx", ".odt"])
def test_broken_office_documents_are_skipped_with_a_reason(tmp_path: Path, suffix: str) -> None:
    import zipfile

    from fundstelle.core.settings import Settings
    from fundstelle.ingest.pipeline import ingest

    folder = tmp_path / "c"
    folder.mkdir()
    (folder / f"text{suffix}").write_text("not a zip archive at all")
    with zipfile.ZipFile(folder / f"empty{suffix}", "w") as z:
        z.writestr("something.xml", "<x/>")
    good = (_docx if suffix == ".docx" else _odt)(BLOCKS)
    (folder / f"cut{suffix}").write_bytes(good[: len(good) // 2])
    report = ingest([folder], Settings(store_path=tmp_path / "store"))
    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    assert reasons.keys() == {f"text{suffix}", f"empty{suffix}", f"cut{suffix}"}
    assert all(r.startswith(f"broken {suffix} file") for r in reasons.values()), reasons
