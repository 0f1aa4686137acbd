"""Batch querying: a file of questions in, one JSON line per answer out, written as it goes.

Resumable (answered ids are skipped on a rerun), a failing question is recorded with its error and
the run goes on, and remote backends answer several questions at once.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fundstelle.core.errors import FundstelleError, InputError, SkipFile
from fundstelle.ingest.decode import decode_text

from .chain import AnswerChain, QuestionInput
from .engine import Engine
from .types import Answer, Filters


@dataclass(frozen=True)
class Question:
    id: str
    question: str


def _auto_id(question: str) -> str:
    return "q-" + hashlib.sha1(question.encode("utf-8")).hexdigest()[:10]


def read_questions(path: Path) -> list[Question]:
    """Questions from ``.txt`` (one per line), ``.jsonl`` (``question`` and optional ``id``) or
    ``.csv`` (a ``question`` column and optional ``id``; or a single column)."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        # the same decoding as for sources: UTF-8, UTF-16 with BOM, cp1252/latin-1
        text = decode_text(path.read_bytes())
    except SkipFile as exc:
        raise InputError(f"{path}: {exc}; save the questions as UTF-8 text") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    rows: list[tuple[str | None, str]] = []
    if suffix == ".txt":
        rows = [
            (None, line.strip())
            for line in text.splitlines()
            if line.strip() and not line.startswith("#")
        ]
    elif suffix == ".jsonl":
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}:{n}: not valid JSON ({exc.msg})") from exc
            if not isinstance(obj, dict) or not str(obj.get("question", "")).strip():
                raise InputError(f'{path}:{n}: each line needs a "question" field')
            rows.append(
                (
                    str(obj["id"]) if obj.get("id") is not None else None,
                    str(obj["question"]).strip(),
                )
            )
    elif suffix == ".csv":
        # a question longer than csv's default field limit (131,072) is refused like any
        # overlong question, as an error row; the whole file is in memory already
        csv.field_size_limit(max(csv.field_size_limit(), min(len(text) + 1, sys.maxsize)))
        try:
            reader = list(csv.reader(text.splitlines()))
        except csv.Error as exc:
            raise InputError(f"{path}: not a readable CSV file ({exc})") from exc
        if not reader:
            return []
        header = [h.strip().lower() for h in reader[0]]
        if "question" in header:
            qi, ii = header.index("question"), header.index("id") if "id" in header else None
            body = reader[1:]
        elif len(header) == 1:
            qi, ii, body = 0, None, reader
        else:
            raise InputError(f"{path}: a CSV needs a 'question' column (and optionally 'id')")
        for row in body:
            if len(row) > qi and row[qi].strip():
                rows.append(
                    (
                        row[ii].strip()
                        if ii is not None and len(row) > ii and row[ii].strip()
                        else None,
                        row[qi].strip(),
                    )
                )
    else:
        raise InputError(f"{path}: questions must be in a .txt, .jsonl or .csv file")
    out: list[Question] = []
    seen: set[str] = set()
    for given, question in rows:
        qid = given or _auto_id(question)
        if qid in seen:
            if given:
                raise InputError(f"{path}: id {qid!r} appears twice")
            continue  # the same question twice in a .txt file
        seen.add(qid)
        out.append(Question(qid, question))
    return out


# every record run_batch writes has these keys (and "answer" when there is one)
_RECORD_KEYS = ("id", "question", "error")
# how json.dumps begins a record: a last line cut short by an interrupted run starts so
_RECORD_START = '{"id": '


def _is_record(line: str) -> bool:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError:
        return False
    return isinstance(obj, dict) and all(k in obj for k in _RECORD_KEYS)


def check_answers_file(out_path: Path) -> None:
    """Raise :class:`InputError` unless ``out_path`` holds only answer records of
    :func:`run_batch` (its last line may be cut short): a resumed run rewrites the file, and must
    never do that to notes, questions or anything else."""
    try:
        lines = out_path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        lines = ["\ufffd"]  # not text: not ours
    except OSError as exc:
        raise InputError(f"cannot read {out_path}: {exc.strerror or exc}") from exc
    for n, line in enumerate(lines, 1):
        if not line.strip() or _is_record(line):
            continue
        if n == len(lines) and line.startswith(_RECORD_START):
            continue  # cut short by an interrupted run: answered again
        raise InputError(
            f"{out_path} is not an answers file of 'fundstelle batch' (line {n}), and a run "
            "would rewrite it; give a new file for the answers (-o), or the answers file of an "
            "earlier run to resume it"
        )


def answered_ids(out_path: Path) -> set[str]:
    """Ids already answered in ``out_path``; lines recording an error are dropped so that those
    questions are tried again (the file is rewritten atomically)."""
    if not out_path.exists():
        return set()
    keep: list[str] = []
    done: set[str] = set()
    for line in out_path.read_text(encoding="utf-8").splitlines():
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by an interrupted run
        if isinstance(obj, dict) and obj.get("error") is None and "id" in obj:
            done.add(str(obj["id"]))
            keep.append(line)
    tmp = out_path.with_name(out_path.name + ".tmp")
    tmp.write_text("".join(k + "\n" for k in keep), encoding="utf-8")
    os.replace(tmp, out_path)
    return done


def check_output(out_path: Path, questions_path: Path | None = None) -> None:
    """Raise :class:`InputError` unless answers can be appended to ``out_path``: not the
    question file, not a folder, and new or an answers file of an earlier run."""
    if out_path.is_dir():
        raise InputError(
            f"{out_path} is a folder; give a file for the answers, e.g. {out_path / 'answers.jsonl'}"
        )
    if questions_path is not None and _same_file(out_path, questions_path):
        raise InputError(
            f"{out_path} is the question file; give another file for the answers, "
            f"e.g. -o {out_path.with_name(out_path.stem + '-answers.jsonl')}"
        )
    if out_path.exists():
        check_answers_file(out_path)
    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        with out_path.open("a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise InputError(
            f"cannot write the answers to {out_path}: {exc.strerror or exc}; choose another -o"
        ) from exc


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)  # also through links and other spellings of the path
    except OSError:
        return False


def run_batch(
    pipeline: AnswerChain | Engine,
    questions: list[Question],
    out_path: Path,
    *,
    concurrency: int = 1,
    filters: Filters | None = None,
    k: int | None = None,
    on_result: Callable[[dict[str, Any]], None] | None = None,
    questions_path: Path | None = None,
) -> dict[str, int]:
    """Answer ``questions`` (read from ``questions_path``, which is never written) into
    ``out_path`` (JSON Lines) through the answer chain (an engine is wrapped in one). Returns
    counts: done, failed, skipped."""
    chain = pipeline if isinstance(pipeline, AnswerChain) else AnswerChain(engine=pipeline)
    check_output(out_path, questions_path)
    try:
        done = answered_ids(out_path)
    except OSError as exc:  # the file is writable but its folder is not (the rewrite)
        raise InputError(f"cannot rewrite {out_path}: {exc.strerror or exc}") from exc
    todo = [q for q in questions if q.id not in done]
    counts = {"done": 0, "failed": 0, "skipped": len(questions) - len(todo)}
    inputs: list[QuestionInput] = [
        {"question": q.question, "filters": filters, "k": k} for q in todo
    ]

    def one(value: QuestionInput) -> Answer | Exception:
        try:
            return chain.invoke(value)
        except Exception as exc:  # one bad question must not end the run
            return exc

    # one at a time in this thread (the in-process model); else LangChain's batch, whose
    # results come back as they complete and are written here, in one thread
    results: Iterable[tuple[int, Answer | Exception]] = (
        ((i, one(value)) for i, value in enumerate(inputs))
        if concurrency <= 1
        else chain.batch_as_completed(
            inputs, config={"max_concurrency": concurrency}, return_exceptions=True
        )
    )
    for i, result in results:
        q = todo[i]
        record: dict[str, Any] = {"id": q.id, "question": q.question}
        if isinstance(result, FundstelleError):
            # an empty or overlong question is an error row, not the end of the run
            record["error"] = str(result)
        elif isinstance(result, Exception):
            record["error"] = f"{result.__class__.__name__}: {result}"
        else:
            record["answer"] = result.to_dict()
            record["error"] = result.error
        with out_path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
        counts["failed" if record["error"] else "done"] += 1
        if on_result:
            on_result(record)
    return counts
