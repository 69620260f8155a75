"""A tiny, randomly initialised chat model built in the test itself: no download.

Byte-level tokenizer (256 byte tokens + chat specials), ChatML template, a 2-layer
Llama. Saved as an ordinary model folder, so it loads through the same code paths as
any --model folder.
"""

from pathlib import Path

CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def build_tiny_model(directory: Path, seed: int = 0) -> Path:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {ch: i for i, ch in enumerate(sorted(alphabet))}
    for special in ("<|im_start|>", "<|im_end|>", "<pad>"):
        vocab[special] = len(vocab)
    core = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core,
        eos_token="<|im_end|>",
        pad_token="<pad>",
        bos_token="<|im_start|>",
        additional_special_tokens=["<|im_start|>"],
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(vocab),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        eos_token_id=vocab["<|im_end|>"],
        pad_token_id=vocab["<pad>"],
        bos_token_id=vocab["<|im_start|>"],
    )
    model = LlamaForCausalLM(config).to(torch.bfloat16)
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def adapted_policy(model_dir: Path, **train_options):
    """A Policy on the tiny model (fp32 unless `dtype` says otherwise, so that merged and
    unmerged passes agree to float precision) whose adapters are not the identity: every
    LoRA B factor, student's and EMA teacher's, drawn from N(0, 0.05)."""
    import torch

    from sdpo_cli.config import TrainConfig
    from sdpo_cli.train.policy import Policy

    torch.manual_seed(0)
    policy = Policy(str(model_dir), TrainConfig(**{"dtype": "float32", **train_options}))
    with torch.no_grad():
        for name, param in policy.model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.05)
    return policy


def full_sequence_logits(policy, prompts: list[list[int]], responses: list[list[int]]):
    """The reference for the packed passes: each prompt + response run alone and in full,
    the logits that predict its response tokens, the responses one after another [R, V]."""
    import torch

    rows = []
    for prompt, response in zip(prompts, responses):
        if response:
            ids = torch.tensor([prompt + response], device=policy.device)
            logits = policy.forward(input_ids=ids, use_cache=False).logits[0]
            rows.append(logits[len(prompt) - 1 : len(prompt) + len(response) - 1])
    return torch.cat(rows)
