"""Make a run's saved adapter portable: it names its base model by hub id where one is
known, carries a model card that says what it is and how it was made, and its files are
readable by others. Standard library only (peft has already written the files)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from . import __version__
from .models import ModelSource

READABLE = 0o644


def finish_adapter(directory: Path, source: ModelSource, run: dict[str, Any]) -> None:
    """Rewrite adapter_config.json's base model, write README.md, make files 0644.
    `run`: problem, method, attempts, attempts_to_solve, trained, the train config, and
    the base model's hub revision (empty: the default branch)."""
    directory = Path(directory)
    config_path = directory / "adapter_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    base = source.hub_id or config.get("base_model_name_or_path")
    config["base_model_name_or_path"] = base
    if run.get("revision"):
        config["revision"] = run["revision"]
    config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    (directory / "README.md").write_text(model_card(base, source, run), encoding="utf-8")
    for path in directory.iterdir():
        if path.is_file():
            os.chmod(path, READABLE)


def model_card(base: str, source: ModelSource, run: dict[str, Any]) -> str:
    train = run["train"]
    found = (
        f"the first verified solution at attempt {run['attempts_to_solve']}"
        if run["attempts_to_solve"]
        else "no verified solution"
    )
    lines = [
        "---",
        f"base_model: {base}",
        "library_name: peft",
        "tags: [sdpo, lora, test-time-training]",
        "---",
        "",
        f"# LoRA adapter for {base}, trained by sdpo on one problem",
        "",
        f"- Problem: `{run['problem']}`; method `{run['method']}`; {run['attempts']} attempts, "
        f"{found}.",
        f"- Base model: `{base}`" + (f" ({source.note})." if source.note else "."),
        f"- Loss: alpha {train['alpha']} (1 = reverse KL), top-{train['topk']} support, "
        f"teacher `{train['teacher']}` (rate {train['teacher_rate']}), learning rate "
        f"{train['learning_rate']}, LoRA rank {train['lora_rank']}, alpha {train['lora_alpha']}, "
        f"targets {', '.join(train['lora_targets'])}, weights in {train['dtype']}.",
        f"- Made by sdpo {__version__} (Self-Distillation Policy Optimization, Hübotter et al., "
        "arXiv 2601.20802).",
    ]
    if not run["trained"]:
        lines.append(
            "- **Untrained**: the problem was solved before any update, so this adapter is "
            "the identity (its B factors are zero): the base model itself."
        )
    return "\n".join(lines) + "\n"
