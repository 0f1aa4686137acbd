"""Word .docx (python-docx): headings, paragraphs and table rows in document order, one block
each, blank lines between them; title and language from the document's properties.

The file's "created" date is not used: it is copied from the template the document was made
from (python-docx's own says 2013-12-23), so it says nothing about the text. A date at the start
of the file name still applies, as for every format.
"""

from __future__ import annotations

import io
from pathlib import Path

from fundstelle.core.errors import SkipFile

from ..types import Document
from .common import check_zip, clean_text, make_document


def load(data: bytes, path: Path, source: str, sha256: str) -> tuple[list[Document], list[str]]:
    import docx
    from docx.table import Table

    check_zip(data, ".docx")
    try:
        word = docx.Document(io.BytesIO(data))
        blocks: list[str] = []
        heading = None
        for item in word.iter_inner_content():
            if isinstance(item, Table):
                for row in item.rows:
                    cells = dict.fromkeys(c.text.strip() for c in row.cells)  # merged: once
                    blocks.append(" | ".join(c for c in cells if c))
                continue
            style = (item.style.name if item.style is not None else "") or ""
            if heading is None and style.startswith(("Title", "Heading")) and item.text.strip():
                heading = item.text.strip()
            blocks.append(item.text)
        props = word.core_properties
        title, lang = props.title, props.language
    except SkipFile:
        raise
    except Exception as exc:  # python-docx raises many kinds for a file that is not Word's
        raise SkipFile(f"broken .docx file ({exc.__class__.__name__}: {str(exc)[:80]})") from exc
    text = "\n\n".join(b.strip() for b in (clean_text(b) for b in blocks) if b.strip())
    return [
        make_document(text, path, source, sha256, title=title or heading, lang=lang or None)
    ], []
