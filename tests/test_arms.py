"""Compare arms: method specs with overrides, their jobs, and a compare of two SDPO arms
against both baselines end to end on the scripted backend."""

import json

import pytest
from conftest import PROBLEMS, run_sdpo

from sdpo_cli.backends.scripted import ScriptedSampler
from sdpo_cli.compare.analysis import analyse, load_runs
from sdpo_cli.compare.arms import parse_arm, parse_arms, split_specs
from sdpo_cli.compare.jobs import arm_slug, plan
from sdpo_cli.compare.local import run_local
from sdpo_cli.compare.report import markdown, rows, write_all
from sdpo_cli.errors import UsageError
from sdpo_cli.methods.attempts import round_seed
from sdpo_cli.seeds import stream_seed

RIGHT = "```python\ndef reverse_string(s):\n    return s[::-1]\n```"
WRONG = "```python\ndef reverse_string(s):\n    return s\n```"


def test_specs_split_at_top_level_commas_and_parse_their_overrides():
    assert split_specs("sdpo, sdpo[lr=3e-4,teacher=frozen],multiturn[batch=1]") == [
        "sdpo",
        "sdpo[lr=3e-4,teacher=frozen]",
        "multiturn[batch=1]",
    ]
    arm = parse_arm("sdpo[lr=3e-4,teacher=frozen,lora_targets=q_proj+v_proj]")
    assert (
        arm.method == "sdpo"
        and arm.label == "sdpo[lr=3e-4,teacher=frozen,lora_targets=q_proj+v_proj]"
    )
    assert arm.settings == {
        "learning_rate": 3e-4,
        "teacher": "frozen",
        "lora_targets": "q_proj,v_proj",
    }
    turn = parse_arm("multiturn[batch=1,context_tokens=512]")
    assert turn.settings == {"batch": 1} and turn.options == {"context_tokens": 512}
    assert parse_arm("bestofk[temperature=0.7]").settings == {"temperature": 0.7}


@pytest.mark.parametrize(
    "spec,words",
    [
        ("sdpo[learning_rate=1]", "'learning_rate=1' is not a setting it can override"),
        ("sdpo[lr=abc]", "lr = 'abc' is not a float"),
        ("sdpo[alpha=3]", "--alpha = 3.0 is out of range"),
        ("sdpo[context_tokens=9]", "'context_tokens=9' is not a setting"),
        ("magic[lr=1]", "unknown method 'magic'"),
        ("sdpo[lr=1", "is not of the form"),
    ],
)
def test_bad_specs_name_what_is_wrong(spec, words):
    with pytest.raises(UsageError) as info:
        parse_arms(spec)
    assert words in info.value.what


def test_a_bad_arm_on_the_command_line_exits_2():
    result = run_sdpo("compare", str(PROBLEMS / "reverse-string.json"), "--methods", "sdpo[lr=abc]")
    assert (
        result.returncode == 2
        and "error: arm 'sdpo[lr=abc]': lr = 'abc' is not a float" in result.stderr
    )


def test_arm_directories_are_distinct_and_safe():
    plain, tuned = arm_slug("sdpo"), arm_slug("sdpo[lr=3e-4,teacher=frozen]")
    assert plain == "sdpo" and "/" not in tuned and "[" not in tuned
    assert arm_slug("sdpo[lr=1e-3]") != arm_slug("sdpo[lr=1e_3]")


def test_streams_are_independent_and_stable():
    assert round_seed(0, 1, stream="sdpo") != round_seed(0, 1, stream="multiturn")
    assert round_seed(0, 1, stream="sdpo") == round_seed(0, 1, stream="sdpo")
    probe = {round_seed(3, 0, part, "probe") for part in (1, 2, 3)}
    teachers = {stream_seed(round_seed(3, 0, 2, "probe"), i) for i in range(16)}
    assert len(probe) == 3 and not teachers & probe and len(teachers) == 16


def test_vllm_gives_every_prompt_of_a_batch_its_own_seed():
    """Identical teacher prompts must not sample identically: each request its own seed."""
    pytest.importorskip("vllm")
    from sdpo_cli.backends.vllm import VLLMSampler
    from sdpo_cli.config import SamplingConfig

    class FakeLLM:
        def generate(self, prompts, params, use_tqdm=False):
            self.params = params
            return []

    sampler = object.__new__(VLLMSampler)
    sampler.llm = FakeLLM()
    sampler.sample_each([[1, 2]] * 4, SamplingConfig(), seed=11)
    seeds = [p.seed for p in sampler.llm.params]
    assert len(set(seeds)) == 4 and seeds == [stream_seed(11, i) for i in range(4)]
    sampler.sample([1, 2], 4, SamplingConfig(), seed=11)  # one request of n samples: one seed
    assert sampler.llm.params.seed == 11 and sampler.llm.params.n == 4


def test_two_sdpo_arms_and_both_baselines_end_to_end(tmp_path, tiny_model_dir):
    arms = parse_arms("sdpo,sdpo[lr=3e-4,teacher=frozen],bestofk,multiturn[batch=1]")
    base = {"budget": 8, "batch": 4, "model": str(tiny_model_dir), "max_new_tokens": 64}
    jobs = plan(
        [(str(PROBLEMS / "reverse-string.json"), "reverse-string")], arms, 2, base, 16, 8, 512
    )
    tuned = [j for j in jobs if j.arm == "sdpo[lr=3e-4,teacher=frozen]"]
    assert len(tuned) == 2 and tuned[0].config["train"]["learning_rate"] == 3e-4
    assert tuned[0].config["train"]["teacher"] == "frozen"
    assert [j.config["batch"] for j in jobs if j.method == "multiturn"] == [1, 1]
    pool = next(j for j in jobs if j.method == "bestofk")
    assert pool.options == {"pool": 16, "pool_batch": 8}
    out = tmp_path / "cmp"
    out.mkdir()
    (out / "compare.json").write_text(json.dumps({"budget": 8, "seeds": 2}))
    run_local(
        jobs,
        out,
        sampler=ScriptedSampler(
            lambda seed, position, prompt: RIGHT if (seed + position) % 5 == 0 else WRONG
        ),
    )
    runs = load_runs(out)
    assert sorted({r["arm"] for r in runs}) == sorted(a.label for a in arms)
    tested = ["sdpo", "sdpo[lr=3e-4,teacher=frozen]"]
    analysis = analyse(runs, tested)
    assert analysis["tested"] == tested and analysis["baselines"] == [
        "bestofk",
        "multiturn[batch=1]",
    ]
    stats = analysis["problems"]["reverse-string"]["arms"]
    for arm in tested:
        assert set(stats[arm]["vs"]) == {"bestofk", "multiturn[batch=1]"}
        assert stats[arm]["vs"]["bestofk"]["verdict"] in ("win", "loss", "tie")
    assert stats["bestofk"]["pool"] == 16
    assert {r[1] for r in rows(analysis)} == set(stats)
    text = markdown(analysis, {"budget": 8, "seeds": 2, "pool": 16})
    assert "sdpo[lr=3e-4,teacher=frozen]" in text and "## Power" in text
    files = write_all(analysis, {"budget": 8}, out)
    assert (out / "discovery.png").stat().st_size > 1000 and "plot" in files


def test_one_worker_runs_arms_that_need_another_teacher_or_adapter_shape(tmp_path, tiny_model_dir):
    """A frozen-teacher arm first, then the EMA default, then another LoRA rank: the EMA
    adapter is there whatever the first job's teacher, and the worker loads a new engine
    for the new rank instead of silently keeping the old shape."""
    from sdpo_cli.compare.worker import Worker

    arms = parse_arms("sdpo[teacher=frozen],sdpo,sdpo[lora_rank=4]")
    base = {"budget": 8, "batch": 4, "model": str(tiny_model_dir), "max_new_tokens": 32}
    jobs = plan(
        [(str(PROBLEMS / "reverse-string.json"), "reverse-string")], arms, 1, base, 16, 8, 512
    )
    out = tmp_path / "cmp"
    worker = Worker(jobs[0], sampler=ScriptedSampler([WRONG]))
    worker.engine.sampler.tokenize = lambda text: (
        worker.engine.policy.tokenizer(text, add_special_tokens=False).input_ids
    )
    ranks = []
    for job in jobs:
        engine = worker.engine_for(job)
        engine.sampler.tokenize = lambda text, e=engine: (
            e.policy.tokenizer(text, add_special_tokens=False).input_ids
        )
        summary = worker.run(job, out)
        assert summary["attempts"] == 8 and not summary["solved"]
        lora_a = next(
            p
            for n, p in engine.policy.model.named_parameters()
            if ".default." in n and "lora_A" in n
        )
        ranks.append(lora_a.shape[0])
    assert ranks == [16, 16, 4]
    worker.close()
