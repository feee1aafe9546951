"""Settings: merge order, validation by key, nested keys, tapps-agents mapping, digest."""

from __future__ import annotations

import pytest

from tapps_lsp.config import DEFAULT_WEIGHTS, Settings, from_tapps_agents, merge


def test_defaults():
    settings, problems = merge()
    assert problems == []
    assert settings == Settings()
    assert settings.qualityThreshold == 70.0 and settings.minSecurity == 8.5
    assert settings.lintSelect == ["E", "F", "W"] and settings.lintIgnore == ["E501"]
    assert settings.maxFileSize == 1_048_576


def test_later_sources_win():
    settings, problems = merge(
        {"qualityThreshold": 60, "lineLength": 88}, None, {"qualityThreshold": 80}
    )
    assert problems == []
    assert settings.qualityThreshold == 80.0
    assert isinstance(settings.qualityThreshold, float)
    assert settings.lineLength == 88


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ({"qualityThreshold": "high"}, "tapps.qualityThreshold: expected float, got str 'high'"),
        ({"qualityThreshold": 101}, "tapps.qualityThreshold: 101.0 is outside 0..100"),
        ({"lineLength": 88.5}, "tapps.lineLength: expected int"),
        ({"mypyEnabled": 1}, "tapps.mypyEnabled: expected bool"),
        ({"run": "always"}, "tapps.run: 'always' is not one of onSave, onType"),
        ({"lintSelect": ["E", 3]}, "tapps.lintSelect: expected list"),
        ({"weights": {"speed": 1}}, "tapps.weights: unknown category or bad weight for speed"),
        ({"weights": {"security": -1}}, "tapps.weights: unknown category or bad weight"),
        ({"severityOverrides": {"W": "loud"}}, "tapps.severityOverrides: severity for W"),
        ({"toolTimeout": 0}, "tapps.toolTimeout: 0.0 is outside 0.1..600; using the default 20.0"),
        ({"colour": "red"}, "tapps.colour: unknown setting, ignored"),
    ],
)
def test_bad_values_are_reported_by_key_and_replaced_by_the_default(source, problem):
    settings, problems = merge(source)
    assert len(problems) == 1 and problems[0].startswith(problem), problems
    assert settings == Settings()


def test_a_bad_value_does_not_discard_the_other_keys():
    settings, problems = merge({"lineLength": 88, "minSecurity": "x"})
    assert settings.lineLength == 88 and settings.minSecurity == 8.5
    assert len(problems) == 1


def test_non_mapping_source():
    settings, problems = merge(["not", "a", "dict"])  # type: ignore[arg-type]
    assert settings == Settings()
    assert problems == ["settings: expected an object, got list"]


def test_nested_keys_are_flattened_and_client_keys_ignored():
    settings, problems = merge(
        {"lint": {"select": ["F"], "ignore": []}, "trace": {"server": "verbose"}, "enable": True}
    )
    assert problems == []
    assert settings.lintSelect == ["F"] and settings.lintIgnore == []


def test_weights_fill_missing_categories_with_zero_and_normalise():
    settings, problems = merge({"weights": {"complexity": 1, "security": 3}})
    assert problems == ["tapps.weights sum to 4, not 1: each is divided by 4"]
    assert settings.weights["maintainability"] == 0.0
    assert settings.normalised_weights()["security"] == pytest.approx(0.75)
    assert sum(settings.normalised_weights().values()) == pytest.approx(1.0)


def test_default_weights_sum_to_one():
    assert sum(DEFAULT_WEIGHTS.values()) == pytest.approx(1.0)
    assert Settings().normalised_weights() == pytest.approx(DEFAULT_WEIGHTS)


def test_all_zero_weights_fall_back_to_the_defaults():
    settings, _ = merge({"weights": {"complexity": 0}})
    assert settings.normalised_weights() == DEFAULT_WEIGHTS


def test_digest_changes_only_with_result_affecting_settings():
    base = Settings().digest()
    assert merge({"qualityThreshold": 50})[0].digest() == base  # scoring only
    assert merge({"run": "onType"})[0].digest() == base
    assert merge({"lintIgnore": []})[0].digest() != base
    assert merge({"complexityThreshold": 12})[0].digest() != base
    assert merge({"mypyEnabled": True})[0].digest() != base


def test_from_tapps_agents():
    data = {
        "scoring": {
            "weights": {"complexity": 0.5, "security": 0.5},
            "thresholds": {"overall_min": 75, "security_min": 9, "complexity": 12},
        }
    }
    mapped = from_tapps_agents(data)
    assert mapped == {
        "weights": {"complexity": 0.5, "security": 0.5},
        "qualityThreshold": 75,
        "minSecurity": 9,
        "complexityThreshold": 12,
    }
    settings, problems = merge(mapped)
    assert problems == []
    assert settings.qualityThreshold == 75.0 and settings.complexityThreshold == 12
    assert from_tapps_agents(None) == {} and from_tapps_agents({"scoring": 3}) == {}
