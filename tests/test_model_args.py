"""Model arguments, config files, the chat template's variables and the GPU memory
split: each with hand-computed values, and through the CLI where a user meets them."""

import importlib.util
import json

import pytest
from conftest import inline_solve, run_sdpo

from sdpo_cli.cli.compare import compare
from sdpo_cli.cli.config_file import option_defaults
from sdpo_cli.config import ModelArgs, SolveConfig, parse_key_values, solve_config
from sdpo_cli.errors import EnvironmentProblem, UsageError
from sdpo_cli.hardware import GIB, gpu_memory_plan, trainer_reserve_bytes


def test_key_values_are_typed_as_toml_reads_them():
    assert parse_key_values("a=1, b=2.5,c=true,d=False,e=main,f-g=x", "--x") == {
        "a": 1,
        "b": 2.5,
        "c": True,
        "d": False,
        "e": "main",
        "f_g": "x",
    }
    assert parse_key_values("", "--x") == {}
    with pytest.raises(UsageError, match="'oops' is not KEY=VALUE"):
        parse_key_values("a=1,oops", "--x")


def test_model_args_take_each_field_in_its_own_type():
    args = ModelArgs.parse("max_model_len=8192,revision=2024,trust_remote_code=true", "x=1")
    assert args.max_model_len == 8192 and args.revision == "2024" and args.trust_remote_code
    assert args.chat_template_args == {"x": 1}
    assert ModelArgs.parse("gpu_memory_utilization=0.6").gpu_memory_utilization == 0.6
    config = solve_config(model_args="tensor_parallel_size=2", chat_template_args="t=false")
    assert SolveConfig.from_json(json.loads(json.dumps(config.to_json()))) == config


@pytest.mark.parametrize(
    "text, message",
    [
        ("max_model_len=8192.5", "max_model_len = 8192.5 is not an integer"),
        ("max_model_len=100", "max_model_len = 100 is out of range"),
        ("gpu_memory_utilization=1.2", "gpu_memory_utilization = 1.2 is out of range"),
        ("trust_remote_code=yes", "trust_remote_code = 'yes' is not true or false"),
        ("tensor_parallel=2", "unknown key 'tensor_parallel'"),
    ],
)
def test_bad_model_args_are_refused_by_name(text, message):
    with pytest.raises(UsageError, match=message):
        ModelArgs.parse(text)


def test_the_trainer_reserve_estimate():
    # 1 attempt of 1024 tokens: per token 4 x 2 x 32 activation bytes + 10 x 12 logit bytes
    assert trainer_reserve_bytes(4, 2, 10, 1, slack=0) == 1024 * (256 + 120)
    assert trainer_reserve_bytes(4, 2, 10, 2, slack=7) == 2 * 1024 * 376 + 7


def test_the_gpu_split_gives_vllm_what_the_trainer_leaves():
    # 80 GiB card, 64 free with the trainer loaded, 16 GiB of weights, 20 kept for updates
    plan = gpu_memory_plan(80 * GIB, 64 * GIB, 16 * GIB, 20 * GIB, requested=0.0)
    assert plan["gpu_memory_utilization"] == 0.55 and plan["sampler_gib"] == 44.0
    assert plan["left_after_sampler_gib"] == 20.0
    asked = gpu_memory_plan(80 * GIB, 64 * GIB, 16 * GIB, 20 * GIB, requested=0.5)
    assert asked["sampler_gib"] == 40.0 and asked["left_after_sampler_gib"] == 24.0


def test_a_split_that_cannot_fit_fails_before_vllm_starts():
    # an 8B model in bf16 on a 24 GiB card: the trainer's copy leaves 8 GiB
    with pytest.raises(EnvironmentProblem, match="cannot hold the sampler") as caught:
        gpu_memory_plan(24 * GIB, 8 * GIB, 16 * GIB, 2 * GIB, requested=0.0)
    assert "--backend hf" in caught.value.hint
    with pytest.raises(EnvironmentProblem, match="asks for 72.0 GiB but only 64.0 GiB"):
        gpu_memory_plan(80 * GIB, 64 * GIB, 16 * GIB, 20 * GIB, requested=0.9)


def test_the_chat_template_gets_its_variables(tmp_path):
    from tiny_model import build_tiny_model

    from sdpo_cli.config import TrainConfig
    from sdpo_cli.train.policy import Policy

    folder = build_tiny_model(tmp_path / "qwen3", architecture="qwen3")
    messages = [{"role": "user", "content": "hi"}]
    thinking = Policy(str(folder), TrainConfig(dtype="float32"))
    direct = Policy(
        str(folder),
        TrainConfig(dtype="float32"),
        model_args=ModelArgs.parse("", "enable_thinking=false"),
    )
    decode = thinking.tokenizer.decode
    assert decode(thinking.chat_ids(messages)).endswith("<|im_start|>assistant\n")
    assert decode(direct.chat_ids(messages)).endswith("assistant\n<think>\n\n</think>\n\n")


CONFIG = """
budget = 3
batch = 3
lr = 3e-4
max-new-tokens = 12
lora_targets = ["q_proj", "v_proj"]
[model_args]
max_model_len = 1024
[chat_template_args]
enable_thinking = false
"""


def test_a_config_file_sets_options_and_flags_override_it(tmp_path, tiny_model_dir):
    (tmp_path / "run.toml").write_text(CONFIG)
    result = run_sdpo(
        *inline_solve(tiny_model_dir, verify="false"),
        "--config",
        tmp_path / "run.toml",
        "--budget",
        6,
        "--out",
        tmp_path / "r",
    )
    assert result.returncode == 1, result.stderr
    config = json.loads((tmp_path / "r" / "run.json").read_text())["config"]
    assert config["budget"] == 6 and config["batch"] == 3  # the flag wins, the file fills in
    assert config["train"]["learning_rate"] == 3e-4
    assert config["train"]["lora_targets"] == ["q_proj", "v_proj"]
    assert config["sampling"]["max_new_tokens"] == 12
    assert config["model_args"]["max_model_len"] == 1024
    assert config["model_args"]["chat_template_args"] == {"enable_thinking": False}


@pytest.mark.parametrize(
    "text, message",
    [
        ("budgett = 3\n", "the config file sets 'budgett', which `sdpo solve` has no option"),
        ("budget = \n", "the config file is not valid TOML"),
        ('budget = "many"\n', "Invalid value for '--budget'"),
    ],
)
def test_a_bad_config_file_is_one_line_and_exit_2(tmp_path, text, message):
    (tmp_path / "bad.toml").write_text(text)
    result = run_sdpo("solve", "--config", tmp_path / "bad.toml", "problems/reverse-string.json")
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


def test_compare_reads_the_same_file_format(tmp_path):
    import typer

    app = typer.Typer(add_completion=False)
    app.command("compare")(compare)
    app.command("other")(lambda: None)  # two commands: get_command gives the group
    command = typer.main.get_command(app).commands["compare"]
    (tmp_path / "c.toml").write_text('pool-batch = 32\nbaselines = ["bestofk", "multiturn"]\n')
    defaults = option_defaults(tmp_path / "c.toml", command)
    assert defaults == {"pool_batch": 32, "baselines": "bestofk,multiturn"}


@pytest.mark.skipif(importlib.util.find_spec("vllm") is None, reason="vllm not installed")
def test_vllm_refusing_a_setting_is_a_usage_error(tmp_path, tiny_model_dir):
    result = run_sdpo(
        *inline_solve(tiny_model_dir, backend="vllm"),
        "--model-args",
        "max_model_len=8192",  # the tiny model's limit is 2048
        "--out",
        tmp_path / "r",
    )
    assert result.returncode == 2, result.stderr
    assert "vLLM refused the settings" in result.stderr and "Traceback" not in result.stderr
