"""What an evaluation report records of the settings it ran with."""

from pathlib import Path

from fundstelle.core.settings import Settings
from fundstelle.eval.run import _base_config


def test_a_report_names_every_setting_a_variant_changed_and_no_key() -> None:
    assert _base_config(Settings())["non_default"] == {}
    varied = Settings(likelihood_sentences=2, judge_confident=None, llm_api_key="secret")
    assert _base_config(varied)["non_default"] == {
        "likelihood_sentences": 2,
        "judge_confident": None,
    }
    moved = _base_config(Settings(store_path=Path("/tmp/other-store")))["non_default"]
    assert moved == {"store_path": "/tmp/other-store"}
