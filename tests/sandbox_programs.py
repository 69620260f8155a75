"""Hostile programs and runners for the sandbox tests, standard library only, so that an
unprivileged interpreter without pytest can import them too."""

import os
import threading
import time
from pathlib import Path

from sdpo_cli.problem import Limits
from sdpo_cli.verifiers.sandbox import run_sandboxed


def run_program(source: str, limits: Limits = Limits(), stdin: str = ""):
    return run_sandboxed(
        ["{python}", "-I", "-S", "solution.py"], {"solution.py": source}, stdin, limits
    )


HOG = """
import os, time
children = 0
while True:
    try:
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
        children += 1
    except OSError:
        break
print("hog holds", children, flush=True)
time.sleep(30)
"""
WORKER = "import os\nif os.fork() == 0:\n    os._exit(0)\nos.wait()\nprint('ok')"


def hog_beside_worker(run) -> tuple[str, object]:
    """A sandbox that forks up to its process limit and holds, and beside it a sandbox
    that needs one fork: (the hog's output, the worker's result)."""
    hog_result = {}
    thread = threading.Thread(
        target=lambda: hog_result.update(r=run(HOG, Limits(timeout_s=4.0, max_processes=16)))
    )
    thread.start()
    time.sleep(1.5)
    result = run(WORKER, Limits(timeout_s=3.0, max_processes=16))
    thread.join()
    return hog_result["r"].stdout, result


def processes_with(marker: str) -> list[int]:
    """Pids of the processes whose command line holds `marker`."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if marker.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    found.append(int(entry))
            except OSError:
                continue
    return found
