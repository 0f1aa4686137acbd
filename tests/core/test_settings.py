"""The settings object read from the environment."""

import pytest
from fundstelle.core.settings import Settings
from pydantic import ValidationError


def test_an_empty_variable_switches_an_optional_setting_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FUNDSTELLE_TRANSLATION_MIN_LOGPROB", "")
    monkeypatch.setenv("FUNDSTELLE_JUDGE_CONFIDENT", "")
    s = Settings()
    assert s.translation_min_logprob is None and s.judge_confident is None
    assert s.early_confident == 0.4  # the others keep their defaults
    monkeypatch.setenv("FUNDSTELLE_TRANSLATION_MIN_LOGPROB", "-0.5")
    assert Settings().translation_min_logprob == -0.5
    # a setting that must have a value still refuses an empty one
    monkeypatch.setenv("FUNDSTELLE_K", "")
    with pytest.raises(ValidationError):
        Settings()
