"""Terminal rendering of an ``Answer``: the answer, then numbered sources with their quotes."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import click
from fundstelle.qa.types import Answer, Citation


def display_path(source: str) -> str:
    """Paths under the working directory are shown relative to it."""
    cwd = str(Path.cwd()) + "/"
    return source[len(cwd) :] if source.startswith(cwd) else source


# C0 and C1 controls, DEL and the Unicode line separators: in a title or file name they would
# break a table row or send escape sequences to the terminal
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text: str) -> str:
    """``text`` with control characters written as escapes (a newline as ``\\n``)."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def source_line(c: Citation) -> str:
    where = [printable(c.title)]
    if c.publisher:
        where.append(printable(c.publisher))
    if c.date:
        where.append(c.date)
    loc = f"{printable(display_path(c.source))}"
    loc += f", p. {c.page}" if c.page else ""
    loc += f", chars {c.start}-{c.end}"
    return f"{' · '.join(where)}\n      {loc}"


def search_notes(answer: Answer) -> list[str]:
    """How the question was searched, where that is not just the question as typed."""
    notes: list[str] = []
    if answer.standalone_question and answer.standalone_question != answer.question:
        notes.append(f"understood as: {answer.standalone_question}")
    for lang, text in answer.translations.items():
        notes.append(f"also searched in {lang}: {text}")
    if answer.named_sources:
        notes.append(f"passages of {', '.join(answer.named_sources)} first: named in the question")
    return notes


def render_evidence(
    citations: list[Citation], width: int = 100, shown: int = 3, heading: str = "Evidence"
) -> str:
    """The first evidence sentences, as soon as they are found (before the answer)."""
    lines = [f"{heading} ({len(citations)} sentences, best first):"]
    for c in citations[:shown]:
        head = f"  ({c.n}) "
        lines.append(
            textwrap.fill(
                f"„{printable(c.quote)}“ — {printable(c.title)}",
                width=width,
                initial_indent=head,
                subsequent_indent=" " * len(head),
            )
        )
    return "\n".join(lines) + "\n"


def render_answer(answer: Answer, width: int = 100) -> str:
    lines = [click.style(f"({note})", dim=True) for note in search_notes(answer)]
    if answer.error:
        lines.append(click.style(f"Error: {answer.error}", fg="red"))
    if answer.text:
        body = answer.text
        for s in answer.unsupported:
            body = body.replace(s.text, f"{s.text} [unsupported]")
        lines.append(textwrap.fill(body, width=width))
    if answer.unsupported:
        lines.append(
            click.style(
                f"{len(answer.unsupported)} sentence(s) marked [unsupported]: no source backs them.",
                fg="yellow",
            )
        )
    if answer.kind == "quotes" and not answer.error:
        # the rule that decided, so that a reader knows why there is no short answer
        why = f": {answer.refusal_reason}" if answer.refusal_reason else ""
        lines.append(
            click.style(
                f"(no answer was verified{why}; these are the sources' own words, the closest "
                "to the question)",
                dim=True,
            )
        )
    if answer.citations:
        heading = "Closest passages:" if answer.refused or answer.error else "Sources:"
        lines.append("")
        lines.append(click.style(heading, bold=True))
        for c in answer.citations:
            lines.append(f"[{c.n}] {source_line(c)}")
            if c.words and c.words != c.quote:
                lines.append(f"      answer copied from: „{printable(c.words)}“")
            quote = textwrap.fill(
                f"„{c.quote}“",
                width=width - 6,
                initial_indent="      ",
                subsequent_indent="       ",
            )
            lines.append(quote)
    elif answer.passages and (answer.refused or answer.error):
        lines.append("")
        lines.append(click.style("Retrieved passages:", bold=True))
        for i, p in enumerate(answer.passages[:3], start=1):
            lines.append(f"[{i}] {p.chunk.title} · {display_path(p.chunk.source)}")
            lines.append(
                textwrap.fill(
                    p.chunk.text[:300],
                    width=width - 6,
                    initial_indent="      ",
                    subsequent_indent="      ",
                )
            )
    t = answer.timings
    if t:
        parts = [f"retrieval {t.get('retrieval', 0) * 1000:.0f} ms"]
        if "first_token" in t:
            parts.append(f"first token {t['first_token']:.1f} s")
        parts.append(f"total {t.get('total', 0):.1f} s")
        lines.append(click.style(f"\n{answer.model} · " + " · ".join(parts), dim=True))
    return "\n".join(lines)
