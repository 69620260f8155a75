"""Tiny, randomly initialised chat models built in the test itself: no download.

Byte-level tokenizer (256 byte tokens + chat specials), ChatML template, 2 layers of a
Llama (the default), Qwen3 (with its template's thinking switch), Gemma or Mistral.
Saved as an ordinary model folder, so it loads through the same code paths as any
--model folder. Heads are 32 wide, a size vLLM's CPU attention supports.
"""

from pathlib import Path

CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
# Qwen3's switch: thinking unless the template is told enable_thinking=false, which opens
# the answer with an empty thinking block
THINKING_TEMPLATE = CHAT_TEMPLATE.replace(
    "assistant\n{% endif %}",
    "assistant\n{% if enable_thinking is defined and enable_thinking is false %}"
    "<think>\n\n</think>\n\n{% endif %}{% endif %}",
)
ARCHITECTURES = ("llama", "qwen3", "gemma", "mistral")
SHAPE = dict(
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=2,
    num_key_value_heads=1,
    head_dim=32,
    max_position_embeddings=2048,
    tie_word_embeddings=True,
)


def model_class(architecture: str):
    import transformers

    names = {
        "llama": ("LlamaConfig", "LlamaForCausalLM"),
        "qwen3": ("Qwen3Config", "Qwen3ForCausalLM"),
        "gemma": ("GemmaConfig", "GemmaForCausalLM"),
        "mistral": ("MistralConfig", "MistralForCausalLM"),
    }[architecture]
    return tuple(getattr(transformers, name) for name in names)


def build_tiny_model(directory: Path, seed: int = 0, architecture: str = "llama") -> Path:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

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
    tokenizer.chat_template = THINKING_TEMPLATE if architecture == "qwen3" else CHAT_TEMPLATE
    torch.manual_seed(seed)
    config_class, model_type = model_class(architecture)
    config = config_class(
        vocab_size=len(vocab),
        **SHAPE,
        eos_token_id=vocab["<|im_end|>"],
        pad_token_id=vocab["<pad>"],
        bos_token_id=vocab["<|im_start|>"],
    )
    model = model_type(config).to(torch.bfloat16)
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
