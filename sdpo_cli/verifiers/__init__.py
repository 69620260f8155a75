"""Verifiers: one file per kind, plus the sandbox that runs model-written code.
Never imports torch."""
