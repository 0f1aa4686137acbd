"""Bytes to text: UTF-8 (with or without BOM), UTF-16 with BOM, else cp1252, else latin-1."""

from __future__ import annotations

from fundstelle.core.errors import SkipFile

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


def binary_reason(data: bytes) -> str | None:
    """Why ``data`` is not text (a NUL byte anywhere, or many control characters in its first
    8 KB), or None. A NUL byte after the first 8 KB was dropped silently while one before it
    rejected the file: the whole file is searched (a fast scan in C)."""
    head = data[:8192]
    if any(head.startswith(bom) for bom, enc in _BOMS if enc == "utf-16"):
        return None
    nul = data.find(b"\x00")
    if nul >= 0:
        return f"binary file, not text (a NUL byte at byte {nul})"
    control = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    return "binary file, not text" if control > max(8, len(head) // 100) else None


def looks_binary(data: bytes) -> bool:
    """True for data that is not text: NUL bytes or many control characters."""
    return binary_reason(data) is not None


def decode_text(data: bytes) -> str:
    """Decode file bytes to ``str``; raise :class:`SkipFile` for empty or binary data.

    German sources in cp1252 or latin-1 are common. cp1252 is tried before latin-1 because it
    maps 0x80-0x9f to printable characters (€, „, “) where latin-1 gives control codes.
    """
    if not data.strip():
        raise SkipFile("empty file")
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise SkipFile(f"broken {encoding} text: {exc.reason}") from exc
    reason = binary_reason(data)
    if reason:
        raise SkipFile(reason)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")
