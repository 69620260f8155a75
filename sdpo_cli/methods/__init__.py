"""Methods: the only place where models meet verifiers (sdpo, best-of-k, multi-turn)."""
