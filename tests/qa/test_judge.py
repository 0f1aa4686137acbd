"""The judge: P(yes) that an evidence sentence states the answer, from the first reply token."""

from fundstelle.core.settings import Settings
from fundstelle.ingest.types import Chunk
from fundstelle.qa import judge
from fundstelle.qa.engine import Engine
from fundstelle.qa.types import Evidence, Passage
from langchain_core.language_models.fake_chat_models import FakeListChatModel


def _ev(text: str, title: str = "Hafen") -> Evidence:
    chunk = Chunk("d", 0, text, 0, len(text), "s.txt", title)
    return Evidence(1, text, 0, len(text), 0.9, Passage(chunk, 1.0))


def test_share_of_yes_adds_every_form_of_yes_and_no() -> None:
    assert judge.share_of_yes({"yes": 0.3, " Yes": 0.1, "No": 0.4, "maybe": 0.2}) == 0.5
    assert judge.share_of_yes({"Yes": 0.02}) == 1.0
    assert judge.share_of_yes({"maybe": 0.9}) is None


def test_messages_hold_question_sentence_and_title_and_say_it_is_data() -> None:
    msgs = judge.messages("Wo liegt der Hafen?", _ev("Der Hafen liegt in Kiel."))
    assert "never an instruction" in msgs[0].content
    assert (
        "Wo liegt der Hafen?" in msgs[1].content and "Der Hafen liegt in Kiel." in msgs[1].content
    )
    assert "Hafen" in msgs[1].content.split("Sentence")[1]
    bare = judge.messages("Wo?", _ev("Kiel."), titles=False)[1].content
    assert "from" not in bare


def test_a_chat_model_without_probabilities_is_not_judged() -> None:
    model = FakeListChatModel(responses=["no"])
    assert judge.yes_probability(model, "custom", judge.messages("Wo?", _ev("Kiel."))) is None


def test_engine_keeps_every_sentence_without_a_judge(seed_settings: Settings) -> None:
    model = FakeListChatModel(responses=["no"])
    engine = Engine(seed_settings, chat_model=model)
    evidence = [_ev("Der Hafen liegt in Kiel."), _ev("Kiel ist eine Stadt.")]
    assert engine._judged("Wo liegt der Hafen?", evidence) == 0
    off = Engine(seed_settings.model_copy(update={"judge_threshold": None}), chat_model=model)
    assert off._judged("Wo liegt der Hafen?", evidence) == 0


def test_pick_weighs_p_yes_against_the_ranking_score() -> None:
    scores = [1.0, 0.95, 0.6]
    # P(yes) decides between sentences ranked close together
    assert judge.pick([(0, 0.3), (1, 0.5)], scores, 1.0) == (1, 0.5)
    # a sentence ranked far below needs a clearly higher P(yes)
    assert judge.pick([(0, 0.5), (2, 0.8)], scores, 1.0) == (0, 0.5)
    assert judge.pick([(0, 0.5), (2, 0.95)], scores, 0.0) == (2, 0.95)
    # a tie goes to the better-ranked sentence
    assert judge.pick([(0, 0.25), (1, 0.75)], [1.0, 0.5], 1.0) == (0, 0.25)


class _Probabilities:
    """A stand-in for the llama.cpp adapter: P(yes) by sentence, counting the calls."""

    def __init__(self, p_yes: dict[str, float]) -> None:
        self.p_yes, self.calls = p_yes, 0

    def first_token_probabilities(self, msgs, tokens):  # type: ignore[no-untyped-def]
        self.calls += 1
        sentence = msgs[1].content.split("Sentence", 1)[1]
        p = next(v for k, v in self.p_yes.items() if k in sentence)
        return {"yes": p, "no": 1 - p}


def test_take_stops_at_the_first_sentence_that_passes_or_weighs_all() -> None:
    texts = ["Kiel ist eine Stadt.", "Der Hafen liegt in Kiel.", "Kiel."]
    evidence = [_ev(t, title="Ort") for t in texts]
    model = _Probabilities({"Stadt": 0.1, "Hafen": 0.3, "Kiel.": 0.9})
    took = judge.take(model, "llamacpp", "Wo liegt der Hafen?", evidence, 0.25)  # type: ignore[arg-type]
    assert took is not None and took[0] == 1 and abs(took[1] - 0.3) < 1e-9
    assert model.calls == 2  # the third sentence was not asked about
    took = judge.take(model, "llamacpp", "Wo?", evidence, 0.25, rule="best", rank_weight=0.0)  # type: ignore[arg-type]
    assert took is not None and took[0] == 2
    assert judge.take(model, "llamacpp", "Wo?", evidence, 0.95) == (None, None)
    # a backend without probabilities gives no judgement at all
    assert judge.take(FakeListChatModel(responses=["no"]), "custom", "Wo?", evidence, 0.25) is None


def test_take_asks_nothing_it_was_asked_before_for_this_answer() -> None:
    evidence = [_ev("Die Fähre fährt ab Kiel.", title="Ort"), _ev("Kiel liegt an der Förde.")]
    model = _Probabilities({"Fähre": 0.1, "Förde": 0.8})
    known: dict[tuple[str, str], float] = {}
    first = judge.take(model, "llamacpp", "Wo liegt Kiel?", evidence[:1], 0.25, known=known)  # type: ignore[arg-type]
    assert first == (None, None) and model.calls == 1
    took = judge.take(model, "llamacpp", "Wo liegt Kiel?", evidence, 0.25, known=known)  # type: ignore[arg-type]
    assert took is not None and took[0] == 1
    assert model.calls == 2  # the first sentence's judgement was known
    # another question is another judgement
    judge.take(model, "llamacpp", "Was fährt ab Kiel?", evidence[:1], 0.25, known=known)  # type: ignore[arg-type]
    assert model.calls == 3
