"""Checks of an embedded store's files before Chroma opens them.

Chroma trusts its files: a vector index whose links were garbled crashed the process inside its
native code (SIGSEGV, which no ``except`` catches), a deleted index folder made searches answer
from the keyword index alone with exit status 0, and a cut ``chroma.sqlite3`` ended every
command in a traceback. So before Chroma loads a store, its files are checked here:

- ``chroma.sqlite3``: the SQLite header, a size that fits it, the collections and segments
  readable (and with ``thorough``, SQLite's own ``quick_check``, which reads every page);
- each vector index (hnswlib files in a folder named after its segment): the header's fields
  fit each other and the collection's dimension, the files are as long as the header says, every
  link points to an element of the index and of a level that has it (the links are what a
  search follows: a wrong one reads outside the index), the vectors' norms are numbers, the
  metadata pickle is whole, and the index holds every vector the collection has (together with
  Chroma's write-ahead log).

The layout is Chroma 1.5's (pinned in pyproject.toml). A check reads the links of every element
(not the vectors): about 60 ms for 100,000 chunks, where Chroma takes 170 ms to load that index for
its first search; it is done again only when a file changed (size or time).
"""

from __future__ import annotations

import math
import os
import sqlite3
import struct
import threading
import time
from pathlib import Path

import numpy as np

_SQLITE_MAGIC = b"SQLite format 3\x00"
_HEADER = struct.Struct("<iQQQQQQiIQQQdQ")  # hnswlib's header.bin, as Chroma writes it
_DB = "chroma.sqlite3"
_INDEX_FILES = ("header.bin", "data_level0.bin", "length.bin", "link_lists.bin")
_PICKLE = "index_metadata.pickle"

# results of earlier checks in this process, by the files' sizes and times
_CHECKED: dict[tuple, str | None] = {}
_LOCK = threading.Lock()
# the Chroma versions whose vector index files are read here; with another one only the SQLite
# database is checked (a layout read wrongly would call every store damaged)
_KNOWN_LAYOUT = ("1.5.",)


def _layout_known() -> bool:
    try:
        from importlib.metadata import version

        return version("chromadb").startswith(_KNOWN_LAYOUT)
    except Exception:  # no metadata: do not guess
        return False


class Damage(Exception):
    """What is wrong with a store's files, in a few words."""


def check_store(folder: Path, *, thorough: bool = False) -> str | None:
    """What is wrong with the embedded Chroma store in ``folder``, or None when its files look
    whole (or cannot be read by this process: Chroma will say so). A check that finds damage
    while the files are being written (another process's ingest) is repeated."""
    problem = None
    for attempt in range(4):
        before = _signature(folder)
        key = (str(folder), thorough, before)
        with _LOCK:
            if key in _CHECKED:
                return _CHECKED[key]
        try:
            _check(folder, thorough)
            problem = None
        except Damage as exc:
            problem = str(exc)
        except PermissionError:
            return None
        after = _signature(folder)
        if after == before:
            with _LOCK:
                if len(_CHECKED) > 256:  # a page that runs for months
                    _CHECKED.clear()
                _CHECKED[key] = problem
            return problem
        time.sleep(0.1 * (attempt + 1))  # written meanwhile: look again once it settles
    return problem


def _signature(folder: Path) -> tuple:
    out = []
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return ()
    for name in names:
        path = folder / name
        files = [path / f for f in (*_INDEX_FILES, _PICKLE)] if path.is_dir() else [path]
        for f in files:
            try:
                st = f.stat()
                out.append((str(f), st.st_size, st.st_mtime_ns, st.st_ino))
            except OSError:
                out.append((str(f), -1, 0, 0))
    return tuple(out)


def _check(folder: Path, thorough: bool) -> None:
    db = folder / _DB
    _check_sqlite_header(db)
    try:
        conn = sqlite3.connect(f"{db.absolute().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise Damage(f"{_DB} cannot be opened: {exc}") from exc
    try:
        if thorough:
            result = conn.execute("PRAGMA quick_check(1)").fetchone()
            if not result or result[0] != "ok":
                raise Damage(f"{_DB} is damaged: {result[0] if result else 'no result'}")
        if _layout_known():
            for seg_id, dim, live, logged in _vector_segments(conn):
                _check_index(folder / seg_id, dim, live, logged)
    except sqlite3.OperationalError as exc:
        if "malformed" in str(exc) or "not a database" in str(exc):
            raise Damage(f"{_DB} is damaged: {exc}") from exc
        # another layout of Chroma's tables, or the database is locked: nothing to say
    except sqlite3.DatabaseError as exc:
        raise Damage(f"{_DB} is damaged: {exc}") from exc
    finally:
        conn.close()


def _check_sqlite_header(db: Path) -> None:
    size = db.stat().st_size
    with db.open("rb") as f:
        head = f.read(100)
    if len(head) < 100 or not head.startswith(_SQLITE_MAGIC):
        raise Damage(f"{_DB} is not an SQLite database any more")
    page = int.from_bytes(head[16:18], "big")
    page = 65536 if page == 1 else page
    if page < 512 or page & (page - 1):
        raise Damage(f"{_DB} has a damaged header")
    # a hot journal is rolled back when SQLite opens the file: sizes say nothing before that
    if any(db.with_name(db.name + s).exists() for s in ("-journal", "-wal")):
        return
    pages = int.from_bytes(head[28:32], "big")
    header_valid = head[24:28] == head[92:96]
    if size % page or (header_valid and pages and size < pages * page):
        raise Damage(f"{_DB} is cut short ({size:,} bytes)")


def _vector_segments(conn: sqlite3.Connection) -> list[tuple[str, int, int, int]]:
    """(segment id, dimension, vectors of the collection, entries in the write-ahead log) for
    each vector index of the store."""
    rows = conn.execute(
        "SELECT s.id, c.id, c.dimension FROM segments s JOIN collections c "
        "ON s.collection = c.id WHERE s.scope = 'VECTOR'"
    ).fetchall()
    out = []
    for seg_id, coll_id, dim in rows:
        (live,) = conn.execute(
            "SELECT count(*) FROM embeddings e JOIN segments m ON e.segment_id = m.id "
            "WHERE m.collection = ? AND m.scope = 'METADATA'",
            (coll_id,),
        ).fetchone()
        (logged,) = conn.execute(
            "SELECT count(*) FROM embeddings_queue WHERE topic LIKE ?", (f"%/{coll_id}",)
        ).fetchone()
        if dim:
            out.append((str(seg_id), int(dim), int(live), int(logged)))
    return out


def _check_index(folder: Path, dim: int, live: int, logged: int) -> None:
    """Raise :class:`Damage` if the hnswlib index in ``folder`` could crash a search or lacks
    vectors that Chroma's log cannot give back."""
    name = f"vector index {folder.name[:8]}"
    if not (folder / "header.bin").exists():
        if any((folder / f).exists() for f in _INDEX_FILES):
            raise Damage(f"{name}: header.bin is missing")
        if live > logged:  # nothing to rebuild it from: Chroma would start an empty index
            raise Damage(f"{name} is missing ({live:,} vectors)")
        return
    raw = (folder / "header.bin").read_bytes()
    if len(raw) < _HEADER.size:
        raise Damage(f"{name}: header.bin is cut short")
    (version, off0, max_el, count, size, label_off, data_off, maxlevel, entry, max_m, max_m0, m) = (
        _HEADER.unpack_from(raw)[:12]
    )
    mult, ef_construction = _HEADER.unpack_from(raw)[12:]
    links0 = max_m0 * 4 + 4
    fits = (
        version == 1
        and off0 == 0
        and 1 < m <= 4096
        and abs(mult - 1 / math.log(m)) < 1e-9  # as hnswlib sets it
        and m <= ef_construction <= 10_000_000
        and max_m == m
        and max_m0 == 2 * m
        and data_off == links0
        and label_off == links0 + dim * 4
        and size == label_off + 8
        and 0 <= count <= max_el
        and (maxlevel == -1 if count == 0 else 0 <= maxlevel < 64 and entry < count)
    )
    if not fits:
        raise Damage(f"{name}: header.bin is damaged")
    if count + logged < live:
        raise Damage(f"{name} holds {count:,} of the collection's {live:,} vectors")
    if count == 0:
        return
    for fname, need in (("data_level0.bin", count * size), ("length.bin", count * 4)):
        try:
            have = (folder / fname).stat().st_size
        except FileNotFoundError:
            raise Damage(f"{name}: {fname} is missing") from None
        if have < need:
            raise Damage(f"{name}: {fname} is cut short")
    levels = _upper_links(folder / "link_lists.bin", count, max_m, maxlevel, name)
    if levels[entry] != maxlevel:
        raise Damage(f"{name}: the entry point is damaged")
    # level 0: a count and max_m0 neighbours at the start of each element's record
    data = np.memmap(folder / "data_level0.bin", dtype=np.uint8, mode="r", shape=(count, size))
    words = np.ascontiguousarray(data[:, :links0]).view("<u4")
    head = words[:, 0]
    n = head & 0xFFFF
    if (n > max_m0).any() or ((head >> 16) & 0xFF > 1).any():
        raise Damage(f"{name}: data_level0.bin is damaged")
    used = np.arange(max_m0)[None, :] < n[:, None]
    if (words[:, 1:][used] >= count).any():
        raise Damage(f"{name}: data_level0.bin links outside the index")
    if dim > 1:  # the registry's index holds one-number placeholders, their norms are junk
        norms = np.memmap(folder / "length.bin", dtype="<f4", mode="r", shape=(count,))
        if not (np.isfinite(norms) & (norms >= 0)).all():
            raise Damage(f"{name}: length.bin is damaged")
    _check_pickle(folder / _PICKLE, name)


def _upper_links(path: Path, count: int, max_m: int, maxlevel: int, name: str) -> np.ndarray:
    """Check the links above level 0 (per element: its byte size, then one block of a count
    and ``max_m`` neighbours per level) and return each element's level."""
    try:
        words = np.fromfile(path, dtype="<u4")
    except FileNotFoundError:
        raise Damage(f"{name}: link_lists.bin is missing") from None
    block = max_m + 1
    levels = np.zeros(count, dtype=np.int64)
    starts: list[int] = []
    owners: list[int] = []
    pos = 0
    sizes = words.tolist()  # a Python loop over ints: sizes decide where the next one starts
    total = len(sizes)
    for i in range(count):
        if pos >= total:
            raise Damage(f"{name}: link_lists.bin is cut short")
        nbytes = sizes[pos]
        pos += 1
        if not nbytes:
            continue
        level, rest = divmod(nbytes, block * 4)
        if rest or level > maxlevel or pos + level * block > total:
            raise Damage(f"{name}: link_lists.bin is damaged")
        levels[i] = level
        starts.append(pos)
        owners.append(level)
        pos += level * block
    if not starts:
        return levels
    rows = np.concatenate([words[s : s + lv * block] for s, lv in zip(starts, owners, strict=True)])
    rows = rows.reshape(-1, block)
    row_level = np.concatenate([np.arange(1, lv + 1) for lv in owners])
    n = rows[:, 0] & 0xFFFF
    if (n > max_m).any():
        raise Damage(f"{name}: link_lists.bin is damaged")
    used = np.arange(max_m)[None, :] < n[:, None]
    targets = rows[:, 1:]
    if (targets[used] >= count).any():
        raise Damage(f"{name}: link_lists.bin links outside the index")
    # a neighbour at level l must have level l itself: the search reads its links there
    need = np.broadcast_to(row_level[:, None], targets.shape)[used]
    if (levels[targets[used]] < need).any():
        raise Damage(f"{name}: link_lists.bin links to a level that is missing")
    return levels


def _check_pickle(path: Path, name: str) -> None:
    """Chroma's id map: a pickle that is whole starts with its protocol and ends with STOP (it
    is not unpickled here: unpickling runs code named in the file)."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return  # written only after the first flush
    with path.open("rb") as f:
        first = f.read(1)
        f.seek(max(0, size - 1))
        last = f.read(1)
    if first != b"\x80" or last != b".":
        raise Damage(f"{name}: {_PICKLE} is damaged")
