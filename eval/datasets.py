"""Readers for the public benchmarks (MultiHop-RAG, XQuAD), from a folder with ``xquad/`` and
``multihop-rag/`` in it: ``--data-dir`` / ``FUNDSTELLE_DATA_DIR``, by default
``../shared/datasets`` beside the checkout; and for the GermanQuAD slice shipped in
``eval/data/`` (German questions over German Wikipedia paragraphs).

XQuAD articles 0-23 are for development; 24-47 are held out for checking and must never be used
to choose a parameter. The GermanQuAD slice has a development and a test part (by article).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from fundstelle.core.errors import InputError

SHIPPED_CORPUS = Path(__file__).resolve().parent.parent / "corpus"
DEV_ARTICLES = range(0, 24)
HELDOUT_ARTICLES = range(24, 48)


def datasets_dir() -> Path:
    """``../shared/datasets`` seen from the project root (or from the working directory)."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (
        here.parent / "shared" / "datasets",
        Path.cwd().parent / "shared" / "datasets",
    ):
        if candidate.is_dir():
            return candidate
    return here.parent / "shared" / "datasets"


@dataclass(frozen=True)
class Source:
    """Where a public benchmark comes from, and the files ``fundstelle eval`` reads."""

    title: str
    url: str
    licence: str
    files: tuple[str, ...]


SOURCES = {
    "xquad": Source(
        "XQuAD",
        "https://github.com/google-deepmind/xquad",
        "CC BY-SA 4.0",
        ("xquad.de.json", "xquad.en.json"),
    ),
    "multihop-rag": Source(
        "MultiHop-RAG",
        "https://github.com/yixuantt/MultiHop-RAG (folder dataset/)",
        "ODC-BY 1.0",
        ("corpus.json", "MultiHopRAG.json"),
    ),
}


def require(folder: str, root: Path | None = None) -> Path:
    """``root/folder`` when every file of that benchmark is there; else an :class:`InputError`
    saying in one line where to get it and which option to set."""
    root = root or datasets_dir()
    source = SOURCES[folder]
    missing = [name for name in source.files if not (root / folder / name).is_file()]
    if missing:
        raise InputError(
            f"{source.title} is not in {root / folder} (missing {', '.join(missing)}): download "
            f"{' and '.join(source.files)} from {source.url} into DIR/{folder}/ and give "
            "--data-dir DIR (or set FUNDSTELLE_DATA_DIR)"
        )
    return root / folder


@dataclass(frozen=True)
class XQuADItem:
    qid: str
    article: int
    paragraph: int  # index within the article
    question_en: str
    question_de: str
    answer_en: str
    answer_de: str
    answer_start_de: int  # offset in the German paragraph


@dataclass(frozen=True)
class XQuADArticle:
    index: int
    title: str
    paragraphs_de: tuple[str, ...]
    paragraphs_en: tuple[str, ...]

    @property
    def text_de(self) -> str:
        return "\n\n".join(self.paragraphs_de)

    def offset_de(self, paragraph: int) -> int:
        """Offset of a paragraph in :attr:`text_de`."""
        return sum(len(p) + 2 for p in self.paragraphs_de[:paragraph])

    @property
    def url(self) -> str:
        return f"xquad:de:{self.index:02d}"


@lru_cache(maxsize=2)
def _xquad_raw(lang: str, root: Path) -> dict:
    return json.loads((root / "xquad" / f"xquad.{lang}.json").read_text(encoding="utf-8"))


def xquad(
    articles: range | list[int] = DEV_ARTICLES, root: Path | None = None
) -> tuple[list[XQuADArticle], list[XQuADItem]]:
    """German articles (paragraphs joined by blank lines) and EN/DE question pairs."""
    root = require("xquad", root).parent
    de, en = _xquad_raw("de", root)["data"], _xquad_raw("en", root)["data"]
    out_articles: list[XQuADArticle] = []
    items: list[XQuADItem] = []
    for a in articles:
        art_de, art_en = de[a], en[a]
        out_articles.append(
            XQuADArticle(
                a,
                art_de["title"],
                tuple(p["context"] for p in art_de["paragraphs"]),
                tuple(p["context"] for p in art_en["paragraphs"]),
            )
        )
        for p, (par_de, par_en) in enumerate(
            zip(art_de["paragraphs"], art_en["paragraphs"], strict=True)
        ):
            for q_de, q_en in zip(par_de["qas"], par_en["qas"], strict=True):
                assert q_de["id"] == q_en["id"]
                items.append(
                    XQuADItem(
                        qid=q_de["id"],
                        article=a,
                        paragraph=p,
                        question_en=q_en["question"],
                        question_de=q_de["question"],
                        answer_en=q_en["answers"][0]["text"],
                        answer_de=q_de["answers"][0]["text"],
                        answer_start_de=q_de["answers"][0]["answer_start"],
                    )
                )
    return out_articles, items


def write_xquad_collection(articles: list[XQuADArticle], path: Path) -> Path:
    """Write German articles as a JSONL collection that ``fundstelle ingest`` reads."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for art in articles:
            record = {"title": art.title, "body": art.text_de, "url": art.url, "lang": "de"}
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def paragraph_url(article: int, paragraph: int) -> str:
    return f"xquad:de:{article:02d}:{paragraph:02d}"


def write_xquad_paragraphs(articles: list[XQuADArticle], path: Path) -> Path:
    """Write every German paragraph as its own document (titled by its article)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for art in articles:
            for p, text in enumerate(art.paragraphs_de):
                record = {
                    "title": art.title,
                    "body": text,
                    "url": paragraph_url(art.index, p),
                    "lang": "de",
                }
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


@dataclass(frozen=True)
class MultiHopQuery:
    qid: str
    query: str
    answer: str
    question_type: str
    facts: tuple[str, ...]
    evidence_urls: tuple[str, ...]

    @property
    def is_null(self) -> bool:
        return self.question_type == "null_query"


def multihop_corpus_path(root: Path | None = None) -> Path:
    return (root or datasets_dir()) / "multihop-rag" / "corpus.json"


def multihop_corpus(root: Path | None = None) -> list[dict]:
    return json.loads(multihop_corpus_path(root).read_text(encoding="utf-8"))


def multihop_queries(root: Path | None = None) -> list[MultiHopQuery]:
    raw = json.loads((require("multihop-rag", root) / "MultiHopRAG.json").read_text())
    return [
        MultiHopQuery(
            qid=f"mh{i:04d}",
            query=r["query"],
            answer=r["answer"],
            question_type=r["question_type"],
            facts=tuple(e["fact"] for e in r["evidence_list"]),
            evidence_urls=tuple(e["url"] for e in r["evidence_list"]),
        )
        for i, r in enumerate(raw)
    ]


GERMANQUAD = Path(__file__).resolve().parent / "data" / "germanquad-slice.jsonl"


@dataclass(frozen=True)
class GermanQuADItem:
    qid: str
    paragraph: int  # GermanQuAD's document id of the paragraph
    question: str
    answers: tuple[str, ...]  # every distinct annotated answer


@dataclass(frozen=True)
class GermanQuADParagraph:
    document_id: int
    title: str
    split: str
    text: str

    @property
    def url(self) -> str:
        return f"germanquad:{self.document_id}"


def germanquad(path: Path = GERMANQUAD) -> tuple[list[GermanQuADParagraph], list[GermanQuADItem]]:
    """The paragraphs of the GermanQuAD slice and its questions (eval/data/README.md)."""
    paragraphs: list[GermanQuADParagraph] = []
    items: list[GermanQuADItem] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        rec = json.loads(line)
        par = GermanQuADParagraph(rec["document_id"], rec["title"], rec["split"], rec["context"])
        paragraphs.append(par)
        for qa in rec["qas"]:
            items.append(
                GermanQuADItem(
                    f"gq{qa['id']}", par.document_id, qa["question"].strip(), tuple(qa["answers"])
                )
            )
    return paragraphs, items


def write_german_corpus(
    paragraphs: list[GermanQuADParagraph], articles: list[XQuADArticle], path: Path
) -> Path:
    """An open German corpus: every GermanQuAD paragraph of the slice and every German XQuAD
    paragraph, each its own document (the XQuAD ones are distractors: their questions are not
    asked here)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for par in paragraphs:
            title = par.title.replace("_", " ")
            body = par.text.split("\n", 1)[1].lstrip("\n") if "\n" in par.text else par.text
            record = {"title": title, "body": body, "url": par.url, "lang": "de"}
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
        for art in articles:
            for p, text in enumerate(art.paragraphs_de):
                record = {
                    "title": art.title,
                    "body": text,
                    "url": paragraph_url(art.index, p),
                    "lang": "de",
                }
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path
