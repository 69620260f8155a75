"""Training: pure SDPO loss functions, the LoRA policy with its regularised teacher,
one update step."""
