"""LoRA + teacher mechanics and one SDPO update on a tiny randomly initialised model."""

import pytest
import torch
from tiny_model import adapted_policy

from sdpo_cli.config import SamplingConfig, TrainConfig
from sdpo_cli.train.merged import adapted_weights, merged_layer_weight
from sdpo_cli.train.peft_api import lora_layers
from sdpo_cli.train.policy import Policy
from sdpo_cli.train.shared_prompt import mean_response_logprobs
from sdpo_cli.train.teacher import ema_step
from sdpo_cli.train.update import (
    Example,
    group_advantages,
    make_optimizer,
    sdpo_loss,
    sdpo_update,
)


def make_policy(model_dir, **overrides):
    torch.manual_seed(0)
    return Policy(str(model_dir), TrainConfig(**{"learning_rate": 1e-2, **overrides}))


UNTEMPERED = SamplingConfig()  # temperature 1, no truncation: the paper's sampling


def examples(policy, masked_extra=False):
    student = policy.chat_ids([{"role": "user", "content": "Say hi."}])
    teacher = policy.chat_ids(
        [{"role": "user", "content": "Say hi.\n\nFeedback: say hello instead."}]
    )
    responses = [
        policy.tokenizer("hello there", add_special_tokens=False).input_ids,
        policy.tokenizer("hi", add_special_tokens=False).input_ids,
    ]
    batch = [Example(student, teacher, r) for r in responses]
    if masked_extra:
        batch.append(
            Example(
                student, None, policy.tokenizer("ignored text", add_special_tokens=False).input_ids
            )
        )
    return batch


def test_gradients_reach_only_the_student_adapter(tiny_model_dir):
    policy = make_policy(tiny_model_dir)
    sdpo_update(
        policy, make_optimizer(policy, policy.config), examples(policy), policy.config, UNTEMPERED
    )
    grads = {n: p.grad for n, p in policy.model.named_parameters()}
    student = [n for n in grads if ".default." in n and "lora_" in n]
    assert student and all(grads[n] is not None for n in student)
    assert any(grads[n].abs().sum() > 0 for n in student)
    teacher = [n for n in grads if ".teacher." in n]
    assert teacher and all(grads[n] is None for n in teacher)
    assert all(g is None for n, g in grads.items() if "lora_" not in n)


def test_loss_is_zero_when_teacher_sees_the_student_context(tiny_model_dir):
    policy = make_policy(tiny_model_dir)
    same = [Example(e.student_prompt, e.student_prompt, e.response) for e in examples(policy)]
    metrics = sdpo_update(
        policy, make_optimizer(policy, policy.config), same, policy.config, UNTEMPERED
    )
    assert metrics["loss"] == pytest.approx(0.0, abs=1e-6)


def test_one_update_lowers_the_loss_on_the_same_batch(tiny_model_dir):
    policy = make_policy(
        tiny_model_dir, learning_rate=TrainConfig.learning_rate
    )  # the default rate
    optimizer = make_optimizer(policy, policy.config)
    batch = examples(policy)
    first = sdpo_update(policy, optimizer, batch, policy.config, UNTEMPERED)["loss"]
    second = sdpo_update(policy, optimizer, batch, policy.config, UNTEMPERED)["loss"]
    assert first > 0 and second < first


def test_masked_attempts_do_not_dilute_the_mean(tiny_model_dir):
    p = make_policy(tiny_model_dir)
    plain = sdpo_update(p, make_optimizer(p, p.config), examples(p), p.config, UNTEMPERED)
    q = make_policy(tiny_model_dir)
    extra = sdpo_update(
        q, make_optimizer(q, q.config), examples(q, masked_extra=True), q.config, UNTEMPERED
    )
    assert extra["active_attempts"] == 2 and extra["attempts"] == 3
    assert extra["loss"] == pytest.approx(plain["loss"], rel=1e-5)


def test_no_active_attempt_changes_nothing(tiny_model_dir):
    policy = make_policy(tiny_model_dir)
    before = policy.adapter_state()
    student = policy.chat_ids([{"role": "user", "content": "x"}])
    metrics = sdpo_update(
        policy,
        make_optimizer(policy, policy.config),
        [Example(student, None, [65, 66])],
        policy.config,
        UNTEMPERED,
    )
    assert metrics["loss"] is None and policy.version == 0
    after = policy.adapter_state()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_ema_teacher_moves_by_rate(tiny_model_dir):
    policy = make_policy(tiny_model_dir, teacher_rate=0.25)
    params = dict(policy.model.named_parameters())
    name = next(n for n in params if ".default." in n and "lora_B" in n)
    with torch.no_grad():
        params[name].fill_(1.0)
    ema_step(policy, policy.config)
    teacher = params[name.replace(".default.", ".teacher.")]
    assert torch.allclose(teacher, torch.full_like(teacher, 0.25))


@pytest.mark.parametrize("mode", ["trust-region", "frozen", "live"])
def test_other_teachers_start_equal_to_the_student(tiny_model_dir, mode):
    policy = make_policy(tiny_model_dir, teacher=mode)
    same = [Example(e.student_prompt, e.student_prompt, e.response) for e in examples(policy)]
    metrics = sdpo_update(
        policy, make_optimizer(policy, policy.config), same, policy.config, UNTEMPERED
    )
    assert metrics["loss"] == pytest.approx(0.0, abs=1e-6)


def test_merged_weights_reproduce_the_adapted_model(tiny_model_dir):
    from transformers import AutoModelForCausalLM

    policy = adapted_policy(tiny_model_dir, dtype="bfloat16")
    ids = torch.tensor([policy.chat_ids([{"role": "user", "content": "check"}])])
    plain = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir), dtype=torch.float32)
    merged = {k: v.float() for k, v in adapted_weights(policy)}
    missing, unexpected = plain.load_state_dict(merged, strict=False)
    # every linear layer is sent, nothing else: training changes no other weight
    assert not unexpected and all("proj" not in m for m in missing)
    assert all("proj" in k for k in merged)
    with torch.no_grad():
        want = policy.model(input_ids=ids).logits.float()
        got = plain(input_ids=ids).logits
    assert (want - got).abs().max() < 0.1  # bf16 rounding of the merged weights


def test_merged_weight_is_peft_delta_added_in_fp32(tiny_model_dir):
    """The sync's fused merge gives exactly what peft's delta weight added in fp32 gives."""
    policy = adapted_policy(tiny_model_dir, dtype="bfloat16")
    layers = list(lora_layers(policy.model))
    assert layers
    for name, module in layers:
        weight = module.base_layer.weight
        want = (weight.float() + module.get_delta_weight("default").float()).to(weight.dtype)
        assert torch.equal(merged_layer_weight(module, "default"), want), name


def test_epochs_are_successive_steps_on_the_same_tokens(tiny_model_dir):
    """--epochs 3 is three updates on the round's examples: with a frozen teacher (fixed
    targets) it ends exactly where three one-step updates end, and reports the first
    step's loss and the last one's."""
    stepped = make_policy(tiny_model_dir, teacher="frozen", dtype="float32")
    optimizer = make_optimizer(stepped, stepped.config)
    losses = [
        sdpo_update(stepped, optimizer, examples(stepped), stepped.config, UNTEMPERED)["loss"]
        for _ in range(3)
    ]
    grouped = make_policy(tiny_model_dir, teacher="frozen", dtype="float32", epochs=3)
    metrics = sdpo_update(
        grouped,
        make_optimizer(grouped, grouped.config),
        examples(grouped),
        grouped.config,
        UNTEMPERED,
    )
    assert metrics["loss"] == pytest.approx(losses[0]) and metrics["last_loss"] == pytest.approx(
        losses[2]
    )
    assert grouped.version == 1 and stepped.version == 3  # one new policy per round
    for name, value in grouped.adapter_state().items():
        assert torch.allclose(value, stepped.adapter_state()[name], atol=1e-6), name


def test_group_advantages_by_hand():
    # scores 0, 1/2, 1: mean 1/2, standard deviation sqrt(1/6)
    assert group_advantages([0.0, 0.5, 1.0]) == pytest.approx([-(6**0.5) / 2, 0.0, 6**0.5 / 2])
    assert group_advantages([0.3, 0.3]) == [0.0, 0.0]  # nothing tells them apart


def test_the_hybrid_policy_gradient_raises_the_better_scored_attempt(tiny_model_dir):
    """lambda 1 (the policy gradient alone): the attempt with the higher score gains
    log-prob, the other loses it; with equal scores there is no gradient."""
    policy = make_policy(tiny_model_dir, hybrid=1.0, dtype="float32")
    better, worse = examples(policy)
    better.advantage, worse.advantage = group_advantages([1.0, 0.0])
    before = mean_response_logprobs(
        policy, [better.student_prompt] * 2, [better.response, worse.response]
    )
    sdpo_update(
        policy, make_optimizer(policy, policy.config), [better, worse], policy.config, UNTEMPERED
    )
    after = mean_response_logprobs(
        policy, [better.student_prompt] * 2, [better.response, worse.response]
    )
    assert after[0] > before[0] and after[1] < before[1]
    same = make_policy(tiny_model_dir, hybrid=1.0, dtype="float32")
    metrics = sdpo_update(
        same, make_optimizer(same, same.config), examples(same), same.config, UNTEMPERED
    )
    assert metrics["loss"] == 0.0 and metrics["grad_norm"] == 0.0


def test_the_contrastive_teacher_runs_in_an_update(tiny_model_dir):
    """With the control equal to the teacher prompt the feedback changes nothing: the
    target is the student itself and the loss is zero; with the real control it is not."""
    policy = make_policy(tiny_model_dir, contrast=1.0, dtype="float32")
    batch = examples(policy)
    for example in batch:
        example.control_prompt = example.teacher_prompt
    metrics = sdpo_loss(policy, batch, policy.config, UNTEMPERED)
    assert metrics["loss"] == pytest.approx(0.0, abs=1e-6)
    for example in batch:
        example.control_prompt = example.student_prompt
    assert sdpo_loss(policy, batch, policy.config, UNTEMPERED)["loss"] > 1e-6


@pytest.mark.parametrize(
    "params",
    [
        SamplingConfig(max_new_tokens=8),
        SamplingConfig(temperature=0.5, top_p=0.9, max_new_tokens=8),
    ],
)
def test_the_importance_weight_compares_the_sampled_distribution_on_both_sides(
    tiny_model_dir, params
):
    """Attempts drawn at a temperature and top-p from the policy itself: the trainer's
    log-probs under the same transform match the sampler's (gap ~0, weights 1); scored
    untempered and untruncated instead, they would not."""
    from sdpo_cli.backends.hf import HFSampler

    policy = make_policy(tiny_model_dir, dtype="float32")
    prompt = policy.chat_ids([{"role": "user", "content": "Say hi."}])
    completions = HFSampler(policy).sample(prompt, 4, params, seed=5)
    batch = [Example(prompt, prompt, c.token_ids, c.logprobs) for c in completions]
    matched = sdpo_loss(policy, batch, policy.config, params)
    assert matched["sampler_gap"] < 1e-4
    assert matched["is_weight_mean"] == pytest.approx(1.0, abs=1e-4)
    if params.temperature != 1.0:
        assert sdpo_loss(policy, batch, policy.config, UNTEMPERED)["sampler_gap"] > 0.05
