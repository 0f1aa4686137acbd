"""OpenDocument text .odt (odfdo): headings and paragraphs (also in lists and tables) in
document order, one block each, blank lines between them; title and language from its metadata.

The creation date in its metadata is not used: it is copied from the template the document was
made from, so it says nothing about the text. A date at the start of the file name still
applies, as for every format.
"""

from __future__ import annotations

import io
from pathlib import Path

from fundstelle.core.errors import SkipFile

from ..types import Document
from .common import check_zip, clean_text, make_document

# headings and paragraphs, not those inside notes (a note's text is part of its paragraph's)
_BLOCKS = (
    "descendant::text:h[not(ancestor::text:note)] | descendant::text:p[not(ancestor::text:note)]"
)


def load(data: bytes, path: Path, source: str, sha256: str) -> tuple[list[Document], list[str]]:
    import odfdo

    check_zip(data, ".odt")
    try:
        odt = odfdo.Document(io.BytesIO(data))
        if odt.get_type() != "text":
            raise SkipFile(f"an OpenDocument {odt.get_type()} file, not text")
        blocks: list[str] = []
        heading = None
        for element in odt.body.xpath(_BLOCKS):
            text = element.text_recursive or ""
            if heading is None and element.tag == "text:h" and text.strip():
                heading = text.strip()
            blocks.append(text)
        title, lang = odt.meta.get_title(), odt.meta.get_language()
    except SkipFile:
        raise
    except Exception as exc:  # odfdo raises many kinds for a file that is not OpenDocument
        raise SkipFile(f"broken .odt file ({exc.__class__.__name__}: {str(exc)[:80]})") from exc
    text = "\n\n".join(b.strip() for b in (clean_text(b) for b in blocks) if b.strip())
    return [
        make_document(text, path, source, sha256, title=title or heading, lang=lang or None)
    ], []
