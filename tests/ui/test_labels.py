from fundstelle.qa.types import Answer, Citation
from fundstelle.ui.render import render_answer, search_notes, source_line
from fundstelle.ui.webview import citation_label


def _citation(**kw: object) -> Citation:
    base = dict(
        n=1,
        quote="Ukraine exports grain.",
        doc_id="d",
        source="news.jsonl#u1",
        title="Harbour news",
        date="2023-05-01",
        url=None,
        start=0,
        end=22,
    )
    base.update(kw)
    return Citation(**base)  # type: ignore[arg-type]


def test_publisher_is_named_where_a_citation_is_shown() -> None:
    c = _citation(publisher="Port Gazette")
    assert citation_label(c, "news.jsonl#u1") == (
        "[1] Harbour news · Port Gazette · 2023-05-01 · news.jsonl#u1"
    )
    assert source_line(c).startswith("Harbour news · Port Gazette · 2023-05-01")
    assert citation_label(_citation(), "x") == "[1] Harbour news · 2023-05-01 · x"


def test_terminal_answer_says_what_else_was_searched() -> None:
    answer = Answer(
        question="Which bases?", text="None.", language="en", translations={"de": "Welche?"}
    )
    assert "(also searched in de: Welche?)" in render_answer(answer)


def test_named_publishers_and_days_are_said() -> None:
    answer = Answer(
        question="What did TechCrunch report on October 4, 2023?",
        text="",
        language="en",
        named_sources=["TechCrunch", "2023-10-04"],
    )
    assert search_notes(answer) == [
        "passages of TechCrunch, 2023-10-04 first: named in the question"
    ]
    assert "(passages of TechCrunch, 2023-10-04 first" in render_answer(answer)
