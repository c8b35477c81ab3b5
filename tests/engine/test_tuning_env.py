"""KOBLING_TUNING: overrides of the engine's timing knobs, and errors that name the field."""

from __future__ import annotations

import pytest

from kobling.engine.runtime import TUNING_ENV, EngineTuning, tuning_from_env


def test_no_overrides_gives_the_defaults() -> None:
    assert tuning_from_env({}) == EngineTuning()
    assert tuning_from_env({TUNING_ENV: "  "}) == EngineTuning()


def test_overrides_take_the_fields_types() -> None:
    tuning = tuning_from_env(
        {TUNING_ENV: '{"backoff_base": 1, "step_attempts": 3.0, "poll_cron": "*/2 * * * * *"}'}
    )
    assert tuning.backoff_base == 1.0 and isinstance(tuning.backoff_base, float)
    assert tuning.step_attempts == 3 and isinstance(tuning.step_attempts, int)
    assert tuning.poll_cron == "*/2 * * * * *"
    assert tuning.http_timeout == EngineTuning().http_timeout


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('{"step_attempts": "abc"}', 'step_attempts must be a whole number, not "abc"'),
        ('{"step_attempts": 2.5}', "step_attempts must be a whole number, not 2.5"),
        ('{"backoff_base": true}', "backoff_base must be a number, not true"),
        ('{"poll_cron": 5}', "poll_cron must be a string, not 5"),
        ('{"backoff_base": null}', "backoff_base must be a number, not null"),
    ],
)
def test_a_wrong_type_names_the_field_and_its_default(text: str, named: str) -> None:
    with pytest.raises(ValueError) as caught:
        tuning_from_env({TUNING_ENV: text})
    assert named in str(caught.value)
    assert "its default is" in str(caught.value)


def test_unknown_fields_and_bad_json_are_named() -> None:
    with pytest.raises(ValueError, match="unknown: nonsense"):
        tuning_from_env({TUNING_ENV: '{"nonsense": 1}'})
    with pytest.raises(ValueError, match="not valid JSON"):
        tuning_from_env({TUNING_ENV: "{poll_cron: 1}"})
