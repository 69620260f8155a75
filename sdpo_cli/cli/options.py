"""Options shared by the commands that load a model (solve, compare, probe)."""

import typer

from ..config import TrainConfig

MODEL = typer.Option("smollm2-135m", "--model", help="Embedded model name, local folder or hub id.")
BACKEND = typer.Option(
    "auto", "--backend", help="Sampler: auto (vllm if installed, else hf), vllm, hf."
)
TEMPERATURE = typer.Option(1.0, "--temperature", help="Sampling temperature (paper: 1.0).")
MAX_NEW_TOKENS = typer.Option(384, "--max-new-tokens", help="Longest attempt in tokens.")
BATCH = typer.Option(8, "--batch", help="Attempts per round (paper: 16; 8 is the CPU default).")
LEARNING_RATE = typer.Option(
    TrainConfig.learning_rate, "--lr", help="AdamW learning rate of the LoRA adapter."
)
SEED = typer.Option(0, "--seed", help="Random seed (sampling and training).")
JSON = typer.Option(False, "--json", help="Print one JSON document on stdout.")
