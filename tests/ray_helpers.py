"""Sampler factories for the Ray tests (importable by Ray workers through PYTHONPATH)."""

import os

from sdpo_cli.backends.scripted import ScriptedSampler

RIGHT = "```python\ndef reverse_string(s):\n    return s[::-1]\n```"
WRONG = "```python\ndef reverse_string(s):\n    return s\n```"


def script(seed, position, prompt_ids):
    return RIGHT if (seed + position) % 7 == 0 else WRONG


def scripted():
    return ScriptedSampler(script)


class DyingOnce:
    """A sampler factory whose first sampler anywhere kills its process mid-job (a crashed
    worker); the marker file makes every later one behave."""

    def __init__(self, marker: str, always: bool = False):
        self.marker, self.always = marker, always

    def __call__(self):
        marker, always = self.marker, self.always

        def deadly(seed, position, prompt_ids):
            if always or not os.path.exists(marker):
                open(marker, "w").close()
                os._exit(1)
            return script(seed, position, prompt_ids)

        return ScriptedSampler(deadly)
