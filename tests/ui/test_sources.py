"""The document behind a citation: found in the store, quote located, file to download, and the
document page that shows it (escaped, the quote marked, PDF pages, long documents). Real store,
real embedding model; the extractive generator makes the citations."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from fundstelle.core.settings import Settings
from fundstelle.ingest.pipeline import ingest
from fundstelle.ingest.store import Store
from fundstelle.qa.engine import Engine
from fundstelle.ui.sources import source_view
from fundstelle.ui.webview import MAX_DOCUMENT_CHARS, document_html, document_url

from tests.conftest import CORPUS, SEED
from tests.fixtures.pdf import make_pdf

LIMIT = 50 * 1024 * 1024


def _citation(settings: Settings, question: str):
    answer = Engine(settings.with_overrides(backend="extractive")).answer(question)
    assert answer.citations
    return answer.citations[0]


def test_a_citation_opens_its_whole_document_and_file(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    settings = Settings(store_path=tmp_path / "store")
    ingest([corpus], settings)
    c = _citation(settings, "Which countries plan bases in Ukraine?")
    view = source_view(Store.open(settings), c, LIMIT)
    assert view is not None and not view.note
    assert view.text[view.start : view.end] == c.quote  # verbatim, at the cited offsets
    assert (view.start, view.end) == (c.start, c.end)
    path = corpus / SEED.name
    assert view.download == path.read_bytes()
    assert view.file_name == SEED.name and view.mime == "text/plain"
    assert view.title == c.title and view.date == "2026-01-07"

    # the file is edited and ingested again: the cited version is gone, the current one shown
    path.write_text("Neuer Absatz vorne.\n\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    ingest([corpus], settings)
    moved = source_view(Store.open(settings), c, LIMIT)
    assert moved is not None and "changed" in moved.note
    assert moved.text[moved.start : moved.end] == c.quote
    assert moved.start > c.start  # found where it stands now

    # the file is gone as well: the stored text is the download
    path.unlink()
    gone = source_view(Store.open(settings), c, LIMIT)
    assert gone is not None and gone.file_name.endswith(".txt")
    assert gone.download.decode("utf-8") == gone.text


def test_pdf_pages_are_known_and_shown(tmp_path: Path) -> None:
    pdf = tmp_path / "bericht.pdf"
    pdf.write_bytes(
        make_pdf(
            [
                "Der Hafen von Kiel wurde im Winter ausgebaut.",
                "Die neue Mole ist 420 Meter lang und wurde im Mai eröffnet.",
            ],
            title="Hafenbericht",
        )
    )
    settings = Settings(store_path=tmp_path / "store")
    ingest([pdf], settings)
    c = _citation(settings, "Wie lang ist die neue Mole?")
    view = source_view(Store.open(settings), c, LIMIT)
    assert view is not None
    assert view.page == 2 and len(view.page_starts) == 2
    assert view.download == pdf.read_bytes() and view.mime == "application/pdf"
    page = document_html(view.text, view.start, view.end, page_starts=view.page_starts)
    assert page.index("page 1") < page.index("page 2") < page.index('<mark id="fs-quote">')


def test_the_document_text_can_be_put_together_from_its_chunks(settings: Settings) -> None:
    ingest([CORPUS], settings)
    store = Store.open(settings)
    record = store.documents()[0]
    stored = store.document(record.doc_id)
    assert stored is not None
    rebuilt = store._text_from_chunks(record.doc_id)
    chunks = store.get_chunks(store.chunk_ids())
    assert chunks
    for chunk in chunks:  # every offset of every chunk means the same text
        assert rebuilt[chunk.start : chunk.end] == stored.text[chunk.start : chunk.end]


def test_the_document_page_is_text_with_the_quote_marked() -> None:
    text = (
        'Titel <img src=x onerror="alert(1)"> & Co.\nDer Satz mit </mark><script>x</script>.\nEnde.'
    )
    start = text.index("Der Satz")
    end = text.index("\nEnde")
    page = document_html(text, start, end, title="<b>T</b>")
    assert "<img" not in page and "<script>x" not in page and "<b>T" not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
    marked = re.search(r'<mark id="fs-quote">(.*?)</mark>', page, re.S)
    assert marked is not None
    assert marked.group(1) == "Der Satz mit &lt;/mark&gt;&lt;script&gt;x&lt;/script&gt;."
    assert "default-src 'none'" in page  # no scripts, images or requests, whatever slips in
    url = document_url(page)
    assert url.startswith("data:text/html;charset=utf-8;base64,") and url.endswith("#fs-quote")


def test_a_very_long_document_is_shown_around_the_quote() -> None:
    text = "".join(f"Satz {i} über nichts Besonderes. " for i in range(40_000))
    quote = "Satz 33333 über nichts Besonderes."
    start = text.index(quote)
    page = document_html(text, start, start + len(quote))
    assert len(page) < MAX_DOCUMENT_CHARS * 1.2
    assert f'<mark id="fs-quote">{quote}</mark>' in page
    assert "characters before this are in the download" in page
    assert "characters after this are in the download" in page
    # no quote (it left the source): the beginning is shown, nothing marked
    assert "<mark" not in document_html(text, -1, -1)


def test_the_download_is_only_ever_the_ingested_version(tmp_path: Path) -> None:
    """The document view served whatever file sat at the source path: a file replaced by a link
    to a private file handed that file's bytes to anyone who could open the page."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    path = corpus / "kiel.txt"
    path.write_text("The lighthouse of Kiel was painted green by Anna Berg in the spring.")
    private = tmp_path / "private.txt"
    private.write_text("SECRET password=hunter2")
    settings = Settings(store_path=tmp_path / "store")
    ingest([corpus], settings)
    c = _citation(settings, "Who painted the lighthouse of Kiel?")
    ingested = path.read_bytes()
    assert source_view(Store.open(settings), c, LIMIT).download == ingested  # type: ignore[union-attr]

    path.unlink()
    path.symlink_to(private)  # not followed, whatever it points to
    view = source_view(Store.open(settings), c, LIMIT)
    assert view is not None and b"SECRET" not in view.download
    assert view.download == view.text.encode("utf-8") and view.file_name.endswith(".txt")
    assert "changed since it was ingested" in view.note

    path.unlink()
    path.write_text("The lighthouse of Kiel was painted red.")  # edited, not ingested again
    view = source_view(Store.open(settings), c, LIMIT)
    assert view is not None and view.download == ingested
    assert "the download is the text as it was ingested" in view.note
