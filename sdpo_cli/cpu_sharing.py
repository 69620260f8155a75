"""Two model processes on one machine: how their threads wait.

OpenMP threads that finish their share of a parallel region spin for a while before
sleeping, which is fastest for a process alone and slowest for two side by side: each
spins on the cores the other needs. Measured on 2 cores (bench/RESULTS.md, 'Two
processes'): with the library's default two solves ran 5.3-5.9x slower side by side than
alone, with OMP_WAIT_POLICY=PASSIVE 1.6x, but a solve alone ran 1.4x slower passive;
with what follows, 1.8x side by side and no slower alone.
So sdpo keeps the default for a process alone and waits passively when it starts beside
another sdpo process that loads a model, or runs compare workers side by side. The
policy is read once, when OpenMP starts, so it is set before torch loads; a user's own
OMP_WAIT_POLICY always wins.

A process that started alone cannot change how its threads wait, but it can change how
many it runs: before each batch, `fair_threads` gives it its share of the usable CPUs,
split with the other sdpo model processes running then (all of them again once it is
alone), so two processes each compute on their own core instead of spinning on both.
"""

from __future__ import annotations

import os
from pathlib import Path

MODEL_COMMANDS = ("solve", "compare", "probe", "calibrate")
POLICY = "OMP_WAIT_POLICY"
SIBLINGS = {"count": 0}
"""Worker processes of this compare running beside this one (their command lines do
not name sdpo, so the /proc scan cannot see them)."""


def is_model_command(argv: list[str]) -> bool:
    """Whether a command line runs sdpo (`sdpo ...`, `python .../sdpo ...`, `python -m
    sdpo_cli ...`) on a command that loads a model."""
    python = bool(argv) and Path(argv[0]).name.startswith("python")
    if argv and Path(argv[0]).name == "sdpo":
        rest = argv[1:]
    elif python and len(argv) > 1 and Path(argv[1]).name == "sdpo":
        rest = argv[2:]
    elif python and argv[1:3] == ["-m", "sdpo_cli"]:
        rest = argv[3:]
    else:
        return False
    command = next((a for a in rest if a != "--debug"), None)
    return command in MODEL_COMMANDS


def other_model_processes(proc: str = "/proc", me: int | None = None) -> list[int]:
    """pids of other sdpo processes running a model command."""
    me = os.getpid() if me is None else me
    found = []
    for entry in os.listdir(proc):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            raw = Path(proc, entry, "cmdline").read_bytes()
        except OSError:
            continue
        if is_model_command([a.decode(errors="replace") for a in raw.split(b"\0") if a]):
            found.append(int(entry))
    return sorted(found)


def fair_share(cpus: int, others: int) -> int:
    """Threads for one of `others` + 1 processes sharing `cpus` CPUs."""
    return max(1, cpus // (others + 1))


def fair_threads() -> int:
    """Set torch's (and so OpenMP's) thread count to this process's share of the usable
    CPUs now; returns it. For a process on a CPU; a cheap /proc scan."""
    import torch

    from .hardware import usable_cpus

    others = len(other_model_processes()) + SIBLINGS["count"]
    threads = fair_share(len(usable_cpus()), others)
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads


def share_cpu(environ=os.environ, side_by_side: bool | None = None) -> str | None:
    """Set passive waiting when this process will run beside another model process
    (`side_by_side`; None: look for one); returns the policy set, None if unchanged."""
    if POLICY in environ:
        return None
    if side_by_side is None:
        side_by_side = bool(other_model_processes())
    if not side_by_side:
        return None
    environ[POLICY] = "PASSIVE"
    return "PASSIVE"
