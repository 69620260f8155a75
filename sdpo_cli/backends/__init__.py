"""Samplers: turn a chat prompt into N attempts with the sampler's own log-probs."""
