"""The config owns its defaults and validation; the CLI reads both from it."""

import inspect

import pytest

from sdpo_cli.cli.compare import compare
from sdpo_cli.cli.probe import probe
from sdpo_cli.cli.solve import solve
from sdpo_cli.config import (
    CompareConfig,
    ProbeConfig,
    SamplingConfig,
    SolveConfig,
    TrainConfig,
    solve_config,
)
from sdpo_cli.errors import UsageError


@pytest.mark.parametrize(
    "build,message",
    [
        (lambda: SolveConfig(budget=0), "--budget = 0 is out of range (at least 1)"),
        (lambda: SamplingConfig(top_p=1.5), "--top-p = 1.5 is out of range (above 0, at most 1)"),
        (lambda: TrainConfig(alpha=2.0), "--alpha = 2.0 is out of range (from 0 to 1)"),
        (lambda: TrainConfig(learning_rate=0.0), "--lr = 0.0 is out of range (above 0)"),
        (lambda: TrainConfig(teacher="nope"), "--teacher = 'nope' is out of range (one of ema,"),
        (lambda: TrainConfig(dtype="int8"), "--dtype = 'int8' is out of range"),
        (lambda: CompareConfig(seeds=0), "--seeds = 0 is out of range"),
        (lambda: CompareConfig(budget=32, pool=16), "--pool = 16 is smaller than --budget = 32"),
        (lambda: ProbeConfig(auto_samples=0), "--probe-samples = 0 is out of range"),
        (lambda: solve_config(temperature="hot"), "--temperature = 'hot' is out of range"),
    ],
)
def test_each_bad_value_is_refused_naming_the_option_and_the_value(build, message):
    with pytest.raises(UsageError) as info:
        build()
    assert info.value.what.startswith(message)


def test_the_builder_nests_flat_options():
    config = solve_config(
        budget=9,
        temperature=0.7,
        alpha=0.5,
        learning_rate=3e-4,
        lora_targets="q_proj, v_proj",
        seed=4,
    )
    assert (config.budget, config.seed, config.train.seed) == (9, 4, 4)
    assert config.sampling.temperature == 0.7 and config.sampling.max_new_tokens == 384
    assert (config.train.alpha, config.train.learning_rate) == (0.5, 3e-4)
    assert config.train.lora_targets == ("q_proj", "v_proj")
    assert solve_config() == SolveConfig()
    with pytest.raises(UsageError, match="unknown setting 'temprature'"):
        solve_config(temprature=0.7)


def cli_defaults(command) -> dict:
    """The defaults a command's options show and use, by parameter name."""
    return {
        name: getattr(parameter.default, "default", parameter.default)
        for name, parameter in inspect.signature(command).parameters.items()
    }


def test_the_commands_defaults_are_the_configs():
    solve_defaults = cli_defaults(solve)
    names = {"lr": "learning_rate"}
    options = {
        names.get(k, k): v
        for k, v in solve_defaults.items()
        if k
        not in (
            "problem_path",
            "method",
            "probe_samples",
            "out",
            "resume",
            "prompt",
            "prompt_file",
            "verify_command",
            "json_output",
            "config_file",
        )
    }
    assert solve_config(**options) == SolveConfig()
    assert solve_defaults["probe_samples"] == ProbeConfig().auto_samples
    compare_defaults = cli_defaults(compare)
    for name in ("budget", "seeds", "pool", "context_tokens", "workers"):
        assert compare_defaults[name] == getattr(CompareConfig(), name), name
    assert cli_defaults(probe)["samples"] == ProbeConfig().samples
