"""Settings: merge order, validation by key, nested keys, tapps-agents mapping, digest."""

from __future__ import annotations

from typing import Any

import pytest

from tapps_lsp import config, settings_merge
from tapps_lsp.config import (
    DEFAULT_WEIGHTS,
    ENV_LIMITS,
    JOBS_CEILING,
    MAX_ITEMS,
    MAX_STRING,
    Settings,
)
from tapps_lsp.settings_merge import Source, cap_problems, env_source, merge
from tapps_lsp.settings_sources import from_tapps_agents


def test_defaults() -> None:
    settings, problems = merge()
    assert problems == []
    assert settings == Settings()
    assert settings.qualityThreshold == 70.0 and settings.minSecurity == 8.5
    assert settings.lintSelect == ["E", "F", "W"] and settings.lintIgnore == ["E501"]
    assert settings.maxFileSize == 1_048_576


def test_later_sources_win() -> None:
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
        ({"toolTimeout": 0}, "tapps.toolTimeout: 0.0 is outside 0.1..120; using the default 20.0"),
        ({"colour": "red"}, "tapps.colour: unknown setting, ignored"),
    ],
)
def test_bad_values_are_reported_by_key_and_replaced_by_the_default(
    source: dict[str, Any], problem: str
) -> None:
    settings, problems = merge(source)
    assert len(problems) == 1 and problems[0].startswith(problem), problems
    assert settings == Settings()


def test_a_bad_value_does_not_discard_the_other_keys() -> None:
    settings, problems = merge({"lineLength": 88, "minSecurity": "x"})
    assert settings.lineLength == 88 and settings.minSecurity == 8.5
    assert len(problems) == 1


def test_non_mapping_source() -> None:
    settings, problems = merge(["not", "a", "dict"])  # type: ignore[arg-type]
    assert settings == Settings()
    assert problems == ["settings: expected an object, got list"]


def test_nested_keys_are_flattened_and_client_keys_ignored() -> None:
    settings, problems = merge(
        {"lint": {"select": ["F"], "ignore": []}, "trace": {"server": "verbose"}, "enable": True}
    )
    assert problems == []
    assert settings.lintSelect == ["F"] and settings.lintIgnore == []


def test_weights_fill_missing_categories_with_zero_and_normalise() -> None:
    settings, problems = merge({"weights": {"complexity": 1, "security": 3}})
    assert problems == ["tapps.weights sum to 4, not 1: each is divided by 4"]
    assert settings.weights["maintainability"] == 0.0
    assert settings.normalised_weights()["security"] == pytest.approx(0.75)
    assert sum(settings.normalised_weights().values()) == pytest.approx(1.0)


def test_default_weights_sum_to_one() -> None:
    assert sum(DEFAULT_WEIGHTS.values()) == pytest.approx(1.0)
    assert Settings().normalised_weights() == pytest.approx(DEFAULT_WEIGHTS)


def test_all_zero_weights_fall_back_to_the_defaults() -> None:
    settings, _ = merge({"weights": {"complexity": 0}})
    assert settings.normalised_weights() == DEFAULT_WEIGHTS


def test_digest_changes_only_with_result_affecting_settings() -> None:
    base = Settings().digest()
    assert merge({"qualityThreshold": 50})[0].digest() == base  # scoring only
    assert merge({"run": "onType"})[0].digest() == base
    assert merge({"lintIgnore": []})[0].digest() != base
    assert merge({"complexityThreshold": 12})[0].digest() != base
    assert merge({"mypyEnabled": True})[0].digest() != base


def test_from_tapps_agents() -> None:
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


# ---- what a workspace may set (issue 13) ---------------------------------------------------


def workspace(values: dict[str, Any], origin: str = "pyproject.toml [tool.tapps-lsp]") -> Source:
    return Source(values, origin, workspace=True)


def test_a_workspace_cannot_raise_the_machine_limits() -> None:
    raised = {"maxFileSize": 2 << 30, "fileBudget": 600, "toolTimeout": 600, "jobs": 100}
    settings, problems = merge(workspace(raised))
    assert settings == Settings()
    assert len(problems) == 4, problems
    jobs = next(p for p in problems if "tapps.jobs" in p)
    assert jobs.startswith("pyproject.toml [tool.tapps-lsp]: tapps.jobs = 100 refused")
    assert "using 0 (one per core)" in jobs and "TAPPS_LSP_JOBS" in jobs
    size = next(p for p in problems if "tapps.maxFileSize" in p)
    assert "= 2147483648 refused" in size and "using 1048576" in size


def test_a_workspace_may_lower_the_machine_limits() -> None:
    lowered = {"maxFileSize": 1000, "fileBudget": 0.5, "toolTimeout": 5, "jobs": 1}
    settings, problems = merge(workspace(lowered))
    assert problems == []
    assert (settings.maxFileSize, settings.fileBudget, settings.toolTimeout, settings.jobs) == (
        1000,
        0.5,
        5.0,
        1,
    )


def test_the_users_value_is_the_ceiling_for_a_workspace() -> None:
    user = {"maxFileSize": 4 << 20, "jobs": 2}
    # The workspace may go up to the user's value (and lower it further), not beyond.
    settings, problems = merge(workspace({"maxFileSize": 2 << 20, "jobs": 3}), user)
    assert settings.maxFileSize == 2 << 20 and settings.jobs == 2
    assert len(problems) == 1 and "tapps.jobs = 3 refused" in problems[0]
    assert "using 2" in problems[0]


def test_jobs_0_from_a_workspace_is_one_per_core() -> None:
    settings, problems = merge(workspace({"jobs": 0}), {"jobs": 1})
    assert settings.jobs == 1
    assert config.CPU_COUNT > 1 or problems == []
    if config.CPU_COUNT > 1:
        assert "tapps.jobs = 0 refused" in problems[0]


def test_the_users_limits_have_hard_ceilings() -> None:
    settings, problems = merge(
        {"maxFileSize": 2 << 30, "fileBudget": 600, "toolTimeout": 600, "jobs": 256}
    )
    assert settings.maxFileSize == 64 << 20
    assert settings.fileBudget == 30.0 and settings.toolTimeout == 120.0
    assert settings.jobs == JOBS_CEILING <= 32
    assert "tapps.maxFileSize: 2147483648 is above the ceiling 67108864; using it" in problems
    assert len(problems) == 4


def test_user_only_keys_are_refused_from_a_workspace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings_merge, "USER_ONLY", frozenset({"logLevel", "mypyEnabled"}))
    settings, problems = merge(workspace({"logLevel": "debug", "mypyEnabled": True}))
    assert settings.logLevel == "info" and settings.mypyEnabled is False
    (problem,) = problems
    assert problem.startswith("pyproject.toml [tool.tapps-lsp]: logLevel, mypyEnabled: only your")
    assert "not a workspace" in problem
    # The user's own settings may set them.
    settings, problems = merge({"logLevel": "debug"})
    assert settings.logLevel == "debug" and problems == []


def test_many_unknown_keys_make_one_message() -> None:
    settings, problems = merge(workspace({f"key{i}": i for i in range(60_000)}))
    assert settings == Settings()
    assert problems == [
        "pyproject.toml [tool.tapps-lsp]: 60,000 unknown settings ignored: "
        "key0, key1, key2, key3, key4 and 59,995 more"
    ]


def test_cap_problems() -> None:
    assert cap_problems(["a", "b"]) == ["a", "b"]
    capped = cap_problems([str(i) for i in range(100)])
    assert capped == ["0", "1", "2", "3", "4", "95 more settings problems not shown"]


def test_severity_overrides_are_capped() -> None:
    overrides = {f"S{i}": "hint" for i in range(63_000)}
    settings, problems = merge(workspace({"severityOverrides": overrides}))
    assert len(settings.severityOverrides) == MAX_ITEMS
    assert list(settings.severityOverrides) == [f"S{i}" for i in range(MAX_ITEMS)]
    assert problems == [
        "pyproject.toml [tool.tapps-lsp]: tapps.severityOverrides: 62,500 of 63,000 entries "
        "dropped (62,500 after the first 500)"
    ]


def test_lists_are_capped_and_long_strings_dropped() -> None:
    patterns = ["x" * (MAX_STRING + 1)] + [f"p{i}/**" for i in range(2 * MAX_ITEMS)]
    settings, problems = merge({"exclude": patterns})
    assert settings.exclude == [f"p{i}/**" for i in range(MAX_ITEMS)]
    assert problems == [
        "tapps.exclude: 501 of 1,001 items dropped (1 longer than 256 characters; "
        "500 after the first 500)"
    ]
    settings, problems = merge({"securityEngine": "r" * 10**6})
    assert settings.securityEngine == "ruff"
    assert len(problems[0]) < 300


def test_untrusted_values_are_shown_cut_short() -> None:
    # What an alias bomb builds: nine levels of one list repeated (repr() is gigabytes).
    bomb: list[Any] = ["lol"] * 9
    for _ in range(9):
        bomb = [bomb] * 9
    huge = 10**4000
    for source in (
        {"qualityThreshold": bomb},
        {"lineLength": "9" * 10**6},
        {"weights": {f"w{i}": bomb for i in range(10_000)}},
        {"severityOverrides": {f"c{i}": bomb for i in range(10_000)}},
        {"lintSelect": bomb},
        {"complexityThreshold": huge},
        {"qualityThreshold": huge},
    ):
        settings, problems = merge(workspace(source))
        assert settings == Settings()
        assert len(problems) == 1 and len(problems[0]) < 400, problems


def test_non_finite_weights_are_refused() -> None:
    for weight in (float("nan"), float("inf")):
        settings, problems = merge({"weights": {"security": weight}})
        assert settings.weights == DEFAULT_WEIGHTS
        assert "bad weight for security" in problems[0]


def test_limits_from_the_environment() -> None:
    source, problems = env_source({ENV_LIMITS["maxFileSize"]: "4194304", "TAPPS_LSP_JOBS": "x"})
    assert problems == ["TAPPS_LSP_JOBS: 'x' is not a number; ignored"]
    assert source.values == {"maxFileSize": 4194304} and not source.workspace
    # The environment is the user's: a workspace may lower its value, not raise it.
    settings, problems = merge(workspace({"maxFileSize": 8 << 20}), source)
    assert settings.maxFileSize == 4194304 and "refused" in problems[0]
    settings, problems = merge(workspace({"maxFileSize": 2 << 20}), source)
    assert settings.maxFileSize == 2 << 20 and problems == []
    assert ENV_LIMITS == {
        "fileBudget": "TAPPS_LSP_FILE_BUDGET",
        "jobs": "TAPPS_LSP_JOBS",
        "maxFileSize": "TAPPS_LSP_MAX_FILE_SIZE",
        "toolTimeout": "TAPPS_LSP_TOOL_TIMEOUT",
    }
