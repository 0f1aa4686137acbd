"""The embedded store's files as the user's disk holds them: damaged, read-only or full.

Chroma's own errors about them ("database disk image is malformed", "attempt to write a readonly
database", "Error in compaction") end commands in tracebacks that never say what happened or what
to do. Here they become one-line :class:`StoreError` messages, a store that cannot be written is
read from a private copy (Chroma writes to its database whenever it opens one), and the command
that repairs a damaged store is spelled out.
"""

from __future__ import annotations

import atexit
import errno
import os
import shlex
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from fundstelle.core.errors import StoreError
from fundstelle.core.settings import Settings

_DISK_FULL_TEXT = ("database or disk is full", "no space left on device", "disk quota exceeded")
_DAMAGED_TEXT = ("database disk image is malformed", "file is not a database")
# below this much free space an unexplained Chroma write error is taken for a full disk
# (Chroma's compaction error says nothing of the cause)
_LOW_SPACE = 64 * 1024 * 1024


def rebuild_command(settings: Settings, *, name_folders: bool = False) -> str:
    """The command that builds the store of ``settings`` again from its files."""
    store = f"--store {shlex.quote(str(settings.store_path))} "
    folders = " FOLDER..." if name_folders else ""
    return f"'fundstelle {store}ingest --rebuild{folders}'"


def damaged(settings: Settings, problem: str) -> StoreError:
    """The error for a store whose files are damaged."""
    # the list of documents is in chroma.sqlite3: damaged, the folders must be named
    name_folders = problem.startswith("chroma.sqlite3")
    how = (
        "with the folders it was built from" if name_folders else "from the files it was built from"
    )
    return StoreError(
        f"the store at {settings.store_path} is damaged ({problem}); build it again {how}: "
        f"{rebuild_command(settings, name_folders=name_folders)}"
    )


def read_only(settings: Settings, action: str) -> StoreError:
    return StoreError(
        f"the store at {settings.store_path} is read-only; {action} needs write access to it "
        "(give it back, or copy the store and use --store COPY)"
    )


def disk_full(settings: Settings) -> StoreError:
    free = _free_bytes(settings.store_path)
    said = f" ({free / 1e6:.1f} MB free)" if free is not None else ""
    return StoreError(
        f"the disk holding the store at {settings.store_path} is full{said}; free some space "
        "and run the command again (what was written before is kept)"
    )


def _free_bytes(path: Path) -> int | None:
    for folder in (path, *path.absolute().parents):
        try:
            return shutil.disk_usage(folder).free
        except OSError:
            continue
    return None


def is_disk_full(exc: BaseException, settings: Settings, *, writing: bool = True) -> bool:
    """Whether ``exc`` (or its cause) comes from a full disk. Chroma's own errors do not say;
    one raised while ``writing`` (or compacting) with little space left is taken for it."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if any(t in str(e).lower() for t in _DISK_FULL_TEXT):
            return True
        e = e.__cause__ or e.__context__
    from chromadb.errors import InternalError

    compacting = "compact" in str(exc).lower()  # reads apply Chroma's log too
    # not NotFoundError and the like: those say what they are
    if isinstance(exc, InternalError) and (writing or compacting):
        free = _free_bytes(settings.store_path)
        return free is not None and free < _LOW_SPACE
    return False


def translate(exc: BaseException, settings: Settings, *, writing: bool = True) -> StoreError | None:
    """The one-line error for a Chroma failure caused by the store's files or disk, or None."""
    if isinstance(exc, StoreError):
        return None
    text = str(exc)
    if any(t in text for t in _DAMAGED_TEXT):
        detail = next(t for t in _DAMAGED_TEXT if t in text)
        return damaged(settings, f"chroma.sqlite3: {detail}")
    if "readonly database" in text:
        return read_only(settings, "this")
    if is_disk_full(exc, settings, writing=writing):
        return disk_full(settings)
    return None


# Chroma calls that write (a read's "Error finding id" on a nearly full disk is not a full disk)
_WRITES = {"add", "upsert", "update", "delete", "modify", "create_collection"}
_WRITES |= {"get_or_create_collection", "delete_collection"}


class Guarded:
    """A Chroma client or collection whose errors about the store's files and disk are
    :class:`StoreError`s (collections it returns are guarded too)."""

    def __init__(self, target: Any, settings: Settings) -> None:
        self._target = target
        self._settings = settings

    @property
    def unwrapped(self) -> Any:
        return self._target

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if not callable(value):
            return value
        settings = self._settings

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                result = value(*args, **kwargs)
            except Exception as exc:
                error = translate(exc, settings, writing=name in _WRITES)
                if error is None:
                    raise
                raise error from exc
            if name.endswith("collection") and result is not None:
                return Guarded(result, settings)
            return result

        return call


def writable(folder: Path) -> bool:
    """Whether this process may write the Chroma folder (permissions and read-only mounts)."""
    db = folder / "chroma.sqlite3"
    return os.access(folder, os.W_OK) and os.access(db, os.W_OK)


# read-only stores: original Chroma folder -> (its files' signature, the private copy)
_COPIES: dict[str, tuple[tuple, Path]] = {}
_COPY_LOCK = threading.Lock()


def _signature(folder: Path) -> tuple:
    out = []
    for root, _dirs, files in os.walk(folder):
        for name in sorted(files):
            try:
                st = os.stat(os.path.join(root, name))
            except OSError:
                continue
            out.append((root, name, st.st_size, st.st_mtime_ns))
    return tuple(sorted(out))


def read_only_copy(folder: Path) -> Path:
    """A private, writable copy of a read-only Chroma folder, made again when the original
    changed (another user may ingest into a store this one may only read). Removed at exit."""
    with _COPY_LOCK:
        signature = _signature(folder)
        known = _COPIES.get(str(folder))
        if known is not None and known[0] == signature and known[1].exists():
            return known[1]
        target = Path(tempfile.mkdtemp(prefix="fundstelle-read-only-")) / "chroma"
        atexit.register(shutil.rmtree, target.parent, True)
        try:
            shutil.copytree(folder, target, copy_function=shutil.copyfile)
        except OSError as exc:
            shutil.rmtree(target.parent, ignore_errors=True)
            raise StoreError(
                f"the store at {folder.parent} is read-only and could not be copied to read it "
                f"({exc.strerror or exc}); free space in {tempfile.gettempdir()} or make it "
                "writable"
            ) from exc
        os.chmod(target, 0o700)  # copytree copied the folders' read-only modes
        for root, dirs, files in os.walk(target):
            for name in dirs + files:
                os.chmod(os.path.join(root, name), 0o700 if name in dirs else 0o600)
        _COPIES[str(folder)] = (signature, target)
        return target


def copy_is_stale(folder: Path) -> bool:
    """Whether the private copy of a read-only store no longer matches the original."""
    with _COPY_LOCK:
        known = _COPIES.get(str(folder))
    return known is not None and known[0] != _signature(folder)
