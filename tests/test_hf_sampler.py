"""The transformers sampler and the shared-prefix passes (student and teacher) on a tiny
random model."""

import pytest
import torch
from tiny_model import adapted_policy, full_sequence_logits

from sdpo_cli.backends.hf import HFSampler, draw
from sdpo_cli.config import SamplingConfig
from sdpo_cli.train.loss import nucleus_log_probs
from sdpo_cli.train.shared_prompt import SharedPrompt, common_prefix_length, mean_response_logprobs
from sdpo_cli.train.teacher import SharedTeacher, combine_teacher


def prompts(policy):
    return [
        policy.chat_ids([{"role": "user", "content": text}])
        for text in ("Say hi.", "Name a colour, please.")
    ]


@pytest.mark.parametrize(
    "params",
    [
        SamplingConfig(max_new_tokens=10),
        SamplingConfig(temperature=0.5, top_p=0.9, max_new_tokens=10),
    ],
)
def test_sampler_logprobs_are_those_of_the_sampled_distribution(tiny_model_dir, params):
    """The log-probs a completion carries are the adapted policy's, tempered and truncated
    as the tokens were drawn: what the importance weight compares against."""
    policy = adapted_policy(tiny_model_dir)
    batch = prompts(policy)  # different lengths: left padding and positions are exercised
    completions = HFSampler(policy).sample_each(batch, params, seed=3)
    with torch.no_grad():
        for prompt, completion in zip(batch, completions):
            logits = full_sequence_logits(policy, [prompt], [completion.token_ids]).float()
            ids = torch.tensor(completion.token_ids)
            want = nucleus_log_probs(logits / params.temperature, ids, params.top_p)
            assert torch.allclose(torch.tensor(completion.logprobs), want, atol=1e-4)
            assert completion.prompt_tokens == len(prompt) and 1 <= len(completion.token_ids) <= 10


def test_sampling_repeats_under_a_seed_and_restores_the_weights(tiny_model_dir):
    policy = adapted_policy(tiny_model_dir)
    before = {n: p.detach().clone() for n, p in policy.model.named_parameters()}
    sampler, params = HFSampler(policy), SamplingConfig(max_new_tokens=12)
    first = [c.token_ids for c in sampler.sample(prompts(policy)[0], 4, params, seed=7)]
    again = [c.token_ids for c in sampler.sample(prompts(policy)[0], 4, params, seed=7)]
    other = [c.token_ids for c in sampler.sample(prompts(policy)[0], 4, params, seed=8)]
    assert first == again and first != other
    assert all(torch.equal(before[n], p) for n, p in policy.model.named_parameters())


def test_greedy_decoding_follows_the_argmax(tiny_model_dir):
    policy = adapted_policy(tiny_model_dir)
    prompt = prompts(policy)[1]
    completion = HFSampler(policy).sample(
        prompt, 1, SamplingConfig(temperature=0.0, max_new_tokens=6), seed=0
    )[0]
    ids = list(prompt)
    with torch.no_grad():
        for token in completion.token_ids:
            assert token == int(policy.model(input_ids=torch.tensor([ids])).logits[0, -1].argmax())
            ids.append(token)


def test_draw_follows_the_distribution_and_the_nucleus():
    generator = torch.Generator().manual_seed(0)
    logits = torch.log(torch.tensor([[0.6, 0.3, 0.1, 0.0]])).expand(20000, -1)

    def shares(params):
        tokens, logp = draw(logits, params, generator)
        return torch.bincount(tokens, minlength=4).float() / 20000, tokens, logp

    counts, tokens, logp = shares(SamplingConfig())
    assert torch.allclose(counts, torch.tensor([0.6, 0.3, 0.1, 0.0]), atol=0.015)
    assert torch.allclose(logp, torch.log(torch.tensor([0.6, 0.3, 0.1]))[tokens])
    # top-p 0.8 keeps 0.6 and 0.3 (the mass ranked above 0.1 is 0.9): 2/3, 1/3
    nucleus, tokens, logp = shares(SamplingConfig(top_p=0.8))
    assert nucleus[2] == 0 and nucleus[3] == 0 and abs(nucleus[0] - 2 / 3) < 0.015
    assert torch.allclose(logp, torch.log(torch.tensor([2 / 3, 1 / 3]))[tokens])
    # temperature 0.5 squares the probabilities: 0.36, 0.09, 0.01 over 0.46
    tempered, tokens, logp = shares(SamplingConfig(temperature=0.5))
    want = torch.tensor([0.36, 0.09, 0.01, 0.0]) / 0.46
    assert torch.allclose(tempered, want, atol=0.015)
    assert torch.allclose(logp, want[tokens].log())
    assert draw(logits[:3], SamplingConfig(top_p=0.1), generator)[0].tolist() == [0, 0, 0]
    greedy, logp = draw(logits[:2], SamplingConfig(temperature=0.0), generator)
    assert greedy.tolist() == [0, 0] and torch.allclose(logp, torch.log(torch.tensor(0.6)))


@pytest.mark.parametrize("targets", [("all-linear",), ("gate_proj", "up_proj", "down_proj")])
def test_shared_prompt_gives_the_full_sequence_gradient(tiny_model_dir, targets):
    """Prompt run once, responses on its cache (in two micro-batches): the same logits
    and the same adapter gradient as every prompt + response sequence run in full. With
    the MLP alone adapted, the first layer's prompt keys and values carry no graph."""
    policy = adapted_policy(tiny_model_dir, lora_targets=targets)
    policy.model.train()
    prompt = prompts(policy)[1]
    responses = [[70, 71, 72, 73, 74], [80, 81], [90, 91, 92]]
    weights = torch.randn(
        10, policy.model.config.vocab_size, generator=torch.Generator().manual_seed(1)
    )

    def gradients(forward_backward):
        policy.model.zero_grad(set_to_none=True)
        logits = forward_backward()
        return logits, {
            n: p.grad.clone() for n, p in policy.model.named_parameters() if p.grad is not None
        }

    def full():
        logits = full_sequence_logits(policy, [prompt] * 3, responses)
        (logits * weights).sum().backward()
        return logits.detach()

    def shared():
        cache = SharedPrompt(policy, prompt)
        logits = torch.cat(
            [cache.response_logits(responses[:1]), cache.response_logits(responses[1:])]
        )
        (logits * weights).sum().backward()
        cache.backward()
        return logits.detach()

    full_logits, full_grads = gradients(full)
    shared_logits, shared_grads = gradients(shared)
    assert torch.allclose(shared_logits, full_logits, atol=1e-4)
    assert shared_grads.keys() == full_grads.keys() and full_grads
    for name, grad in full_grads.items():
        assert torch.allclose(shared_grads[name], grad, atol=1e-5, rtol=1e-3), name


@pytest.mark.parametrize("prefix_tokens", [None, 1])
def test_shared_prompt_packs_attempts_with_and_without_a_rest_of_the_prompt(
    tiny_model_dir, prefix_tokens
):
    """Attempts whose prompt is the prefix itself packed with ones that extend it, and an
    empty response: the logits of each prompt + response run in full. A one-token prefix
    leaves no cache to share: every segment runs alone."""
    policy = adapted_policy(tiny_model_dir)
    prefix = prompts(policy)[0][:prefix_tokens]
    full_prompts = [prefix, prefix + [65, 66, 67], prefix, prefix + [68]]
    responses = [[70, 71], [80, 81, 82], [90], []]
    with torch.no_grad():
        want = full_sequence_logits(policy, full_prompts, responses)
        got = SharedPrompt(policy, prefix).response_logits(responses, full_prompts)
    assert got.shape == want.shape == (6, policy.model.config.vocab_size)
    assert torch.allclose(got, want, atol=1e-4)


def test_common_prefix_length():
    assert common_prefix_length([[1, 2, 3], [1, 2, 4, 5]]) == 2
    assert common_prefix_length([[1, 2, 3], [1, 2, 3]]) == 3
    assert common_prefix_length([[1, 2], [1, 2, 3]]) == 2
    assert common_prefix_length([[7], [8]]) == 0


@pytest.mark.parametrize("mode", ["ema", "trust-region", "frozen", "live"])
def test_shared_teacher_gives_the_full_sequence_teacher_logits(tiny_model_dir, mode):
    """The teacher prompts' common prefix run once per view, rests of different lengths
    packed after it: the same logits as each teacher prompt + response in full."""
    policy = adapted_policy(tiny_model_dir, teacher=mode, teacher_rate=0.3)  # all views differ
    question = "Name a colour, please."
    teacher_prompts = [
        policy.chat_ids([{"role": "user", "content": f"{question}\n\nFeedback: {f}"}])
        for f in ("wrong.", "that colour is not a colour at all, try again.", "wrong.")
    ]
    responses = [[70, 71, 72], [80, 81, 82, 83, 84], [90]]
    views = {
        "ema": ["teacher"],
        "trust-region": ["initial", "default"],
        "frozen": ["initial"],
        "live": ["default"],
    }[mode]
    with torch.no_grad():
        full = []
        for view in views:
            with policy.adapter(view):
                full.append(full_sequence_logits(policy, teacher_prompts, responses))
        want = combine_teacher(full, policy.config)
    teacher = SharedTeacher(policy, teacher_prompts, policy.config)
    assert len(teacher.shared) == len(views)
    got = torch.cat(
        [
            teacher.response_logits(responses[:2], teacher_prompts[:2]),
            teacher.response_logits(responses[2:], teacher_prompts[2:]),
        ]
    )
    assert torch.allclose(got, want, atol=1e-4)
    if mode == "trust-region":  # the lerp really mixes two different views
        assert not torch.allclose(full[0], full[1], atol=1e-2)


def test_mean_response_logprobs_match_the_full_sequences(tiny_model_dir):
    """The probe's per-attempt mean log-probs come from the packed passes: equal to each
    prompt + response run in full (two distinct prompts, shared and not; an empty
    response has no tokens and gets 0)."""
    policy = adapted_policy(tiny_model_dir)
    first, second = prompts(policy)
    pairs = [(first, [70, 71, 72]), (second, [80]), (first, [90, 91]), (second, [])]
    got = mean_response_logprobs(policy, [p for p, _ in pairs], [r for _, r in pairs])
    with torch.no_grad():
        for (prompt, response), value in zip(pairs, got):
            if not response:
                assert value == 0.0
                continue
            logits = full_sequence_logits(policy, [prompt], [response]).float()
            logp = torch.log_softmax(logits, -1).gather(-1, torch.tensor(response)[:, None])
            assert value == pytest.approx(float(logp.mean()), abs=1e-4)
