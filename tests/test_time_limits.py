"""Time limits judge CPU seconds, so machine load does not change a verdict: the whole
process tree's CPU time is summed, the wall clock is a backstop whose verdicts say so,
and `sdpo check` passes on every shipped problem with CPU hogs beside it."""

import multiprocessing
import os
import time
from contextlib import contextmanager

import pytest
from conftest import PROBLEMS, run_sdpo
from sandbox_programs import run_program

from sdpo_cli.problem import Limits
from sdpo_cli.verifiers.sandbox import tree_cpu_seconds, wall_clock_s

FOUR_BUSY_CHILDREN = """
import os
for _ in range(4):
    if os.fork() == 0:
        break
while True:
    pass
"""


def test_the_cpu_time_of_the_whole_tree_counts():
    """Five busy processes on this machine's cores use 1.5 CPU seconds before any one of
    them could reach a per-process limit."""
    start = time.monotonic()
    result = run_program(FOUR_BUSY_CHILDREN, Limits(timeout_s=1.5))
    seconds = time.monotonic() - start
    assert result.cpu_exceeded and not result.timed_out
    assert seconds < 1.5 * 5 / min(5, os.cpu_count() or 1) + 2


def test_a_waiting_program_meets_the_wall_clock_backstop():
    result = run_program("import time\ntime.sleep(60)", Limits(timeout_s=0.5))
    assert result.timed_out and not result.cpu_exceeded
    assert wall_clock_s(Limits(timeout_s=0.5)) <= result.seconds < 60


def test_tree_cpu_seconds_reads_this_process():
    """This process's own CPU time and that of the children it has reaped (the tests'
    subprocesses), as os.times() counts them."""
    times = os.times()
    spent = times.user + times.system + times.children_user + times.children_system
    assert tree_cpu_seconds(os.getpid()) == pytest.approx(spent, abs=0.5)


def burn(stop) -> None:
    os.setsid()  # a session of its own: with autogroup scheduling, its own share of the CPU
    while not stop.is_set():
        pass


@contextmanager
def cpu_hogs(per_core: int = 3):
    """Busy processes beside the test: with 3 per core a verifier gets a quarter of one."""
    stop = multiprocessing.Event()
    count = per_core * (os.cpu_count() or 1)
    hogs = [multiprocessing.Process(target=burn, args=(stop,)) for _ in range(count)]
    for hog in hogs:
        hog.start()
    try:
        yield
    finally:
        stop.set()
        for hog in hogs:
            hog.join()


# computes for 0.8 CPU seconds, then prints "done"
COMPUTES_A_WHILE = """
import time
while time.process_time() < 0.8:
    pass
print("done")
"""


def test_a_program_within_its_cpu_limit_passes_on_a_busy_machine():
    """0.8 CPU seconds of a 2-second limit: on a quarter of a core that takes more than
    2 seconds of wall time, which a wall-clock limit would have failed."""
    with cpu_hogs():
        result = run_program(COMPUTES_A_WHILE, Limits(timeout_s=2))
    assert result.stdout.strip() == "done" and result.returncode == 0
    assert not result.timed_out and not result.cpu_exceeded


def test_check_passes_every_shipped_problem_beside_cpu_hogs():
    """The references still pass and the trivial attempts still fail."""
    with cpu_hogs():
        result = run_sdpo("check", PROBLEMS, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
