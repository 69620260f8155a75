"""What only a GPU can show, on a randomly initialised model with the exact shapes of
Qwen3-8B, built from its configuration (no download): sampling tokens/s, the SDPO round's
time against a sampling-only round, the weight sync's time, and the memory of trainer and
sampler against the plan sdpo made before starting vLLM (hardware.gpu_memory_plan).

The model gets a word-level tokenizer over its whole vocabulary (each id one word), so
every sampled id decodes; its attempts are noise, every round fails and trains. The
rounds come from bench/solve.py (measure_rounds), on a shipped problem.

    python bench/gpu_check.py                  # Qwen3-8B shapes, on the GPU
    python bench/gpu_check.py --backend hf     # the same, sampling with transformers
    python bench/gpu_check.py --shape tiny     # the same path at toy size (CPU smoke test)

Prints a table and one JSON document of the figures; record them in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

from solve import measure_rounds

# Qwen3-8B's config.json (Qwen/Qwen3-8B), the fields that set its shapes
QWEN3_8B = dict(
    vocab_size=151936,
    hidden_size=4096,
    intermediate_size=12288,
    num_hidden_layers=36,
    num_attention_heads=32,
    num_key_value_heads=8,
    head_dim=128,
    max_position_embeddings=40960,
    rope_theta=1000000.0,
    rms_norm_eps=1e-6,
    tie_word_embeddings=False,
)
TINY = dict(
    vocab_size=512,
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=2,
    num_key_value_heads=1,
    head_dim=32,
    max_position_embeddings=4096,
    tie_word_embeddings=False,
)
SHAPES = {"qwen3-8b": QWEN3_8B, "tiny": TINY}
SPECIALS = ("<|im_start|>", "<|im_end|>", "<|endoftext|>")
TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
GIB = 1024**3


def build_model(folder: Path, shape: dict, device: str) -> Path:
    """A random Qwen3 of `shape` in bf16, saved with a tokenizer that covers its vocabulary."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast, Qwen3Config, Qwen3ForCausalLM

    size = shape["vocab_size"]
    words = {f"w{i}": i for i in range(size - len(SPECIALS))}
    words.update({token: size - len(SPECIALS) + i for i, token in enumerate(SPECIALS)})
    core = Tokenizer(models.WordLevel(vocab=words, unk_token="<|endoftext|>"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token="<|endoftext|>",
        additional_special_tokens=["<|im_start|>"],
    )
    tokenizer.chat_template = TEMPLATE
    config = Qwen3Config(
        **shape,
        eos_token_id=words["<|im_end|>"],
        pad_token_id=words["<|endoftext|>"],
        bos_token_id=words["<|im_start|>"],
    )
    torch.manual_seed(0)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)
    try:
        with torch.device(device):
            model = Qwen3ForCausalLM(config)
    finally:
        torch.set_default_dtype(previous)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    del model
    if device == "cuda":
        torch.cuda.empty_cache()
    return folder


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shape", choices=sorted(SHAPES), default="qwen3-8b")
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--problem", default="problems/count-vowels.json")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--micro-batch", type=int, default=2)
    parser.add_argument("--model-args", default="", help="as sdpo's --model-args")
    args = parser.parse_args()
    import torch

    from sdpo_cli.config import solve_config

    device = "cuda" if torch.cuda.is_available() else "cpu"
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        clock = time.perf_counter()
        folder = build_model(Path(tmp) / "model", SHAPES[args.shape], device)
        build_s = time.perf_counter() - clock
        config = solve_config(
            model=str(folder),
            backend=args.backend,
            batch=args.batch,
            max_new_tokens=args.max_new_tokens,
            micro_batch=args.micro_batch,
            model_args=args.model_args,
        )
        memory = []

        def on_update(row: dict) -> None:
            """The round's peak (sampling and update, trainer and the in-process vLLM
            together) and what stays allocated after it: their gap is what an update
            needs beyond the steady state, the quantity the plan's reserve estimates."""
            if device == "cuda":
                peak = torch.cuda.max_memory_allocated() / GIB
                steady = torch.cuda.memory_allocated() / GIB
                memory.append({"peak_gib": round(peak, 2), "update_gib": round(peak - steady, 2)})
                torch.cuda.reset_peak_memory_stats()

        measured = measure_rounds(config, args.problem, args.rounds, on_update=on_update)
    plain, sdpo = measured["plain"], measured["sdpo"]
    figures = {
        "shape": args.shape,
        "device": torch.cuda.get_device_name(0) if device == "cuda" else platform.machine(),
        "backend": measured["backend"],
        "batch": args.batch,
        "micro_batch": args.micro_batch,
        "build_s": round(build_s, 1),
        "startup_s": round(measured["startup_s"], 1),
        "sampling_tokens_per_s": round(
            sum(r["tokens"] for r in plain) / sum(r["generate_s"] for r in plain), 1
        ),
        "sdpo_round_s": round(sum(r["total_s"] for r in sdpo) / len(sdpo), 2),
        "sampling_round_s": round(sum(r["total_s"] for r in plain) / len(plain), 2),
        "sync_s": round(sum(r["sync_s"] for r in sdpo) / len(sdpo), 3),
        "sampler_gap": max(r["sampler_gap"] for r in sdpo),
        "memory_per_round": memory,
        "memory_plan": measured.get("memory_plan"),
    }
    figures["round_ratio"] = round(figures["sdpo_round_s"] / figures["sampling_round_s"], 2)
    for key, value in figures.items():
        print(f"{key:<32} {value}")
    json.dump(figures, sys.stdout)
    print()


if __name__ == "__main__":
    main()
