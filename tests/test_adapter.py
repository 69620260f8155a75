"""The saved adapter is portable: plain PEFT format that loads with PeftModel and gives
the trainer's log-probs, its base named by hub id where one is known, a model card, and
files others can read; an untrained adapter says so."""

import json

import torch
from conftest import PROBLEMS

from sdpo_cli.adapter import finish_adapter
from sdpo_cli.backends.scripted import ScriptedSampler
from sdpo_cli.config import solve_config
from sdpo_cli.methods.engine import load_engine
from sdpo_cli.methods.solve_run import solve
from sdpo_cli.models import ModelSource
from sdpo_cli.runlog import start_log
from sdpo_cli.verifiers.registry import load_checked

RIGHT = "```python\ndef reverse_string(s):\n    return s[::-1]\n```"
WRONG = "```python\ndef reverse_string(s):\n    return s\n```"


def solved(tmp_path, tiny_model_dir, script, budget):
    problem, verifier = load_checked(PROBLEMS / "reverse-string.json")
    config = solve_config(
        budget=budget, batch=4, model=str(tiny_model_dir), dtype="float32", learning_rate=0.05
    )
    sampler = ScriptedSampler(script)
    engine = load_engine(config, sampler=sampler)
    sampler.tokenize = lambda text: (
        engine.policy.tokenizer(text, add_special_tokens=False).input_ids
    )
    log = start_log(tmp_path / "run", problem, config)
    return solve(problem, verifier, config, log, engine=engine), engine


def test_a_trained_adapter_loads_with_peft_and_matches_the_trainer(tmp_path, tiny_model_dir):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    summary, engine = solved(tmp_path, tiny_model_dir, [WRONG] * 4 + [RIGHT], budget=8)
    adapter = tmp_path / "run" / "adapter"
    assert summary["adapter"] == {"path": str(adapter), "trained": True}
    config = json.loads((adapter / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == str(tiny_model_dir)  # a local model: its path
    card = (adapter / "README.md").read_text()
    assert "`reverse-string`" in card and "first verified solution at attempt 5" in card
    assert "LoRA rank 16" in card and "Untrained" not in card
    assert all(p.stat().st_mode & 0o777 == 0o644 for p in adapter.iterdir())
    base = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir), dtype=torch.float32)
    loaded = PeftModel.from_pretrained(base, str(adapter)).eval()
    ids = torch.tensor([engine.policy.chat_ids([{"role": "user", "content": "Reverse abc."}])])
    with torch.no_grad():
        want = torch.log_softmax(engine.policy.forward(input_ids=ids).logits.float(), -1)
        got = torch.log_softmax(loaded(input_ids=ids).logits.float(), -1)
        with loaded.disable_adapter():  # from_pretrained adapted `base` in place
            initial = torch.log_softmax(loaded(input_ids=ids).logits.float(), -1)
    assert (got - want).abs().max() < 1e-4
    assert (want - initial).abs().max() > 1e-3  # the update really changed the model


def test_an_adapter_solved_before_any_update_says_it_is_untrained(tmp_path, tiny_model_dir):
    summary, _ = solved(tmp_path, tiny_model_dir, [RIGHT], budget=4)
    assert summary["adapter"]["trained"] is False
    assert "**Untrained**" in (tmp_path / "run" / "adapter" / "README.md").read_text()


def test_the_embedded_model_is_named_by_its_hub_id(tmp_path):
    (tmp_path / "adapter_config.json").write_text(
        json.dumps({"base_model_name_or_path": "/root/cache/x"})
    )
    source = ModelSource(
        "smollm2-135m",
        tmp_path,
        True,
        "HuggingFaceTB/SmolLM2-135M-Instruct",
        "dequantised from the Q4_1 GGUF file",
    )
    train = solve_config().train.__dict__
    finish_adapter(
        tmp_path,
        source,
        {
            "problem": "p",
            "method": "sdpo",
            "attempts": 8,
            "attempts_to_solve": None,
            "trained": True,
            "train": train,
        },
    )
    config = json.loads((tmp_path / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    card = (tmp_path / "README.md").read_text()
    assert "base_model: HuggingFaceTB/SmolLM2-135M-Instruct" in card
    assert "dequantised from the Q4_1 GGUF file" in card and "no verified solution" in card
