"""HTML and export helpers for the Streamlit page, kept out of ``app.py`` so they can be tested.

Everything that comes from a source, a question or the model is escaped: a source containing
``<script>`` or ``<img onerror=…>`` is shown as text, never as markup. Strings shown through
Streamlit's Markdown (expander labels, captions, alerts) go through :func:`plain` first: a title
``![t](http://host/x.png)`` must not make the browser fetch an image.
"""

from __future__ import annotations

import base64
import html
import itertools
import json
import re
from typing import Any

from fundstelle.qa.types import Answer, Citation

STYLE = """
<style>
.fs-answer { font-size: 1.05rem; line-height: 1.6; }
.fs-marker { color: #0b5cad; font-weight: 600; font-size: 0.85em; }
.fs-unsupported { background: #fff3cd; border-bottom: 2px dotted #b58100; }
.fs-flag { color: #8a6100; font-size: 0.8em; font-weight: 600; }
.fs-refusal { color: #5a5a5a; font-style: italic; }
.fs-passage { font-size: 0.92rem; line-height: 1.5; color: #333; white-space: pre-wrap; }
.fs-passage mark { background: #ffe58a; padding: 0 2px; }
.fs-meta { color: #666; font-size: 0.82rem; }
</style>
"""

_MARKERS = re.compile(r"((?:\s*\[\d+\])+)")
# Markdown punctuation that starts markup anywhere in a line: emphasis, code, strikethrough,
# links and images, HTML and autolinks, entities, tables, Streamlit's LaTeX and its ``:red[…]``
# and ``:icon:`` codes; ``:`` and ``@`` also stop GitHub's bare-URL and e-mail links
_MD_INLINE = re.compile(r"([\\`*_~\[\]()<>!&|$:@{}])")
_MD_WWW = re.compile(r"(?i)\b(www)\.")
# at the start of the text: a heading, quote or list item
_MD_LEAD = re.compile(r"^([#>+\-=]|\d+(?=[.)]))")
_MD_SPACE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def plain(text: object) -> str:
    """``text`` for a place that renders Markdown (expander labels, captions, alerts), shown as
    the text it is: its Markdown punctuation backslash-escaped, line breaks and control
    characters as one space."""
    out = _MD_SPACE.sub(" ", str(text)).strip()
    out = _MD_INLINE.sub(r"\\\1", out)
    out = _MD_WWW.sub(r"\1\\.", out)
    return _MD_LEAD.sub(
        lambda m: m.group(1) + "\\" if m.group(1)[0].isdigit() else "\\" + m.group(1), out
    )


def _markers_html(text: str) -> str:
    """Escape ``text`` and style its ``[n]`` markers."""
    parts = []
    for piece in _MARKERS.split(text):
        if _MARKERS.fullmatch(piece):
            parts.append(f'<span class="fs-marker">{html.escape(piece)}</span>')
        else:
            parts.append(html.escape(piece))
    return "".join(parts)


def answer_html(answer: Answer) -> str:
    """The answer with its markers; sentences no source supports are marked as such."""
    if answer.refused:
        return f'<div class="fs-answer fs-refusal">{html.escape(answer.text)}</div>'
    body = answer.text
    out = _markers_html(body)
    for s in answer.unsupported:
        escaped = html.escape(s.text)
        out = out.replace(
            escaped,
            f'<span class="fs-unsupported">{escaped}</span> <span class="fs-flag">[unsupported: no source backs this]</span>',
            1,
        )
    return f'<div class="fs-answer">{out}</div>'


def passage_html(c: Citation) -> str:
    """The passage around a quote, the quoted sentence highlighted."""
    ctx = c.context or c.quote
    start = c.start - c.context_start
    end = c.end - c.context_start
    if not (0 <= start <= end <= len(ctx)) or ctx[start:end] != c.quote:
        start, end, ctx = 0, len(c.quote), c.quote
    return (
        '<div class="fs-passage">'
        + html.escape(ctx[:start])
        + "<mark>"
        + html.escape(ctx[start:end])
        + "</mark>"
        + html.escape(ctx[end:])
        + "</div>"
    )


# a data: URL is the document view's page: its own opaque origin, no script, and the browser
# scrolls it to the quote by the URL's fragment; Chromium takes data: URLs of up to 2 MB, so a
# very long document is shown around the quote (the download has all of it)
MAX_DOCUMENT_CHARS = 300_000
QUOTE_ID = "fs-quote"
_DOCUMENT_STYLE = """
body { font: 15px/1.6 system-ui, sans-serif; color: #222; margin: 0 12px; }
.fs-text { white-space: pre-wrap; overflow-wrap: anywhere; }
mark { background: #ffe58a; padding: 0 2px; }
#fs-quote { scroll-margin-top: 35vh; }
.fs-page { color: #777; font-size: 0.8em; border-top: 1px solid #ddd; margin: 0.8em 0 0.2em; }
.fs-cut { color: #777; font-style: italic; }
"""


def document_html(
    text: str, start: int, end: int, *, page_starts: tuple[int, ...] = (), title: str = ""
) -> str:
    """A whole source document as a page of its own: every character of the text escaped,
    the quote ``text[start:end]`` in ``<mark id="fs-quote">`` (``start`` -1: no quote), PDF page
    breaks marked. A Content-Security-Policy forbids scripts, images and requests in it."""
    lo, hi = 0, len(text)
    if len(text) > MAX_DOCUMENT_CHARS:
        centre = start if start >= 0 else 0
        lo = max(0, min(centre - MAX_DOCUMENT_CHARS // 2, len(text) - MAX_DOCUMENT_CHARS))
        hi = lo + MAX_DOCUMENT_CHARS
    quote = (start, end) if 0 <= start <= end <= len(text) else None
    cuts = {lo, hi} | {p for p in page_starts if lo < p < hi}
    if quote:
        cuts |= {max(lo, min(hi, quote[0])), max(lo, min(hi, quote[1]))}
    bounds = sorted(cuts)
    pages = {p: n for n, p in enumerate(page_starts, start=1)}
    parts = []
    if lo > 0:
        parts.append(f'<p class="fs-cut">[{lo:,} characters before this are in the download]</p>')
    first_mark = True
    for a, b in itertools.pairwise(bounds):
        if a in pages and (a > 0 or len(page_starts) > 1):
            parts.append(f'<div class="fs-page">page {pages[a]}</div>')
        piece = html.escape(text[a:b])
        if quote and quote[0] <= a and b <= quote[1] and a < b:
            attr = f' id="{QUOTE_ID}"' if first_mark else ""
            first_mark = False
            piece = f"<mark{attr}>{piece}</mark>"
        parts.append(piece)
    if hi < len(text):
        parts.append(
            f'<p class="fs-cut">[{len(text) - hi:,} characters after this are in the download]</p>'
        )
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        f"<title>{html.escape(title)}</title><style>{_DOCUMENT_STYLE}</style></head>"
        f'<body><div class="fs-text">{"".join(parts)}</div></body></html>'
    )


def document_url(page: str) -> str:
    """``page`` as a data: URL that opens scrolled to the quote."""
    data = base64.b64encode(page.encode("utf-8")).decode("ascii")
    return f"data:text/html;charset=utf-8;base64,{data}#{QUOTE_ID}"


def citation_label(c: Citation, display_source: str) -> str:
    """An expander label: Streamlit renders labels as Markdown, so it is escaped (:func:`plain`)."""
    parts = [c.title]
    if c.publisher:
        parts.append(c.publisher)
    if c.date:
        parts.append(c.date)
    parts.append(display_source + (f", p. {c.page}" if c.page else ""))
    return f"[{c.n}] " + plain(" · ".join(parts))


def timing_line(answer: Answer) -> str:
    t = answer.timings
    parts = [f"retrieval {t.get('retrieval', 0) * 1000:.0f} ms"]
    if "queue" in t:
        parts.append(f"waited {t['queue']:.1f} s for the model")
    if "first_token" in t:
        parts.append(f"first token {t['first_token']:.1f} s")
    parts.append(f"total {t.get('total', 0):.1f} s")
    return plain(" · ".join(parts) + f" · {answer.model}")


def conversation_markdown(answers: list[Answer]) -> str:
    """The conversation with its citations, as Markdown for download."""
    lines = ["# Fundstelle conversation", ""]
    for a in answers:
        lines += [f"## {a.question}", "", a.text, ""]
        for s in a.unsupported:
            lines.append(f"> unsupported: {s.text}")
        if a.kind == "quotes":
            why = f" ({a.refusal_reason})" if a.refusal_reason else ""
            lines.append(f"> no answer was verified{why}: the sources' own words, closest first")
        if a.citations:
            lines.append("Closest passages:" if a.refused else "Sources:")
            lines.append("")
            for c in a.citations:
                where = f"{c.source}, chars {c.start}-{c.end}" + (
                    f", p. {c.page}" if c.page else ""
                )
                lines.append(f"{c.n}. {c.title} ({c.date or 'no date'}), {where}")
                lines.append(f"   > {c.quote}")
            lines.append("")
    return "\n".join(lines)


def conversation_json(answers: list[Answer]) -> str:
    data: list[dict[str, Any]] = [a.to_dict() for a in answers]
    return json.dumps(data, ensure_ascii=False, indent=2)
