"""sdpo: test-time discovery on one hard, checkable problem with Self-Distillation
Policy Optimization."""

__version__ = "0.1.0"
