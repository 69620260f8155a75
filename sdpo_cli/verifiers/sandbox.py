"""Run untrusted, model-written programs in a separate, limited, isolated process.

What is enforced (see jail.py for the mechanics):
- always: CPU seconds, address space, file size and process-count limits; no_new_privs
  and (x86-64) a seccomp filter; a wall-clock backstop that kills the launcher's process
  group; a private temporary working directory; a scrubbed environment (no variable of
  the parent reaches the program); stdout and stderr captured with a size cap (the run
  is stopped past it).
- namespaces (root) and userns (unprivileged): no network; a minimal read-only root
  (system directories, the interpreter without its site-packages, a private /tmp), so
  no home, project, problem or run directory is there to read; a PID namespace whose
  init dies with the launcher, so nothing the program started outlives its verdict; a
  uid of its own, so one sandbox cannot use up another's process limit.
- limits: resource limits only. Never chosen by itself: SDPO_SANDBOX_MODE=limits asks
  for it by name, for machines where neither namespace mode can be set up.
`isolation()` says which mode this machine gets; `sdpo check` and `sdpo doctor` print it.

Time: a problem's `timeout_s` is judged in CPU seconds, which machine load does not
change: the supervisor sums the CPU time of the program's whole process tree (every
process descended from the launcher, read from /proc every CPU_POLL_S; in the PID
namespace orphans stay in the tree) and stops it past the limit, and RLIMIT_CPU stops any
single process a second later should the poll lag. The wall clock is only a backstop,
WALL_FACTOR x the limit + WALL_SLACK_S, for a program that waits instead of computing (a
sleep, a read that never returns); on a busy machine (a model process beside the
verifier) wall time stretches while CPU time does not, so a verdict that hit the wall
clock says so, with the machine's load (`wall_clock_verdict`).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..errors import EnvironmentProblem, VerifierError
from ..problem import Limits

JAIL = Path(__file__).with_name("jail.py")
SETUP_FAILED = 125
SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"
JAILED_WORKDIR = "/tmp/work"
BASIC = [
    "resource limits",
    "no_new_privs",
    "seccomp filter (x86-64)",
    "wall-clock timeout",
    "scrubbed environment",
]
ISOLATED = [
    "no network",
    "minimal read-only root",
    "private /tmp",
    "PID namespace killed with the run",
    "a uid per sandbox",
]
PROTECTIONS = {"namespaces": BASIC + ISOLATED, "userns": BASIC + ISOLATED, "limits": BASIC}
OPT_IN = "SDPO_SANDBOX_MODE"
WALL_FACTOR = 3
WALL_SLACK_S = 2.0
CPU_POLL_S = 0.1
TICKS = os.sysconf("SC_CLK_TCK")


def wall_clock_s(limits: Limits) -> float:
    """The wall-clock backstop of one run."""
    return WALL_FACTOR * limits.timeout_s + WALL_SLACK_S


def cpu_seconds(limits: Limits) -> int:
    """RLIMIT_CPU of each process: the limit in whole seconds, rounded up, plus one (the
    tree's total is judged exactly; this stops a single process if the poll lags)."""
    return math.ceil(limits.timeout_s) + 1


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds (user + system, its reaped children's included) of process `root` and
    all its descendants now."""
    parents, times = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        pid = int(entry)
        parents[pid] = int(fields[1])
        times[pid] = sum(int(f) for f in fields[11:15]) / TICKS  # utime stime cutime cstime
    tree, frontier = {root}, [root]
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    while frontier:
        for child in children.get(frontier.pop(), []):
            if child not in tree:
                tree.add(child)
                frontier.append(child)
    return sum(times.get(pid, 0.0) for pid in tree)


def wall_clock_verdict(result: "RunResult") -> str:
    """The text of a verdict that hit the wall-clock backstop, with the machine's load."""
    load = os.getloadavg()[0]
    cores = os.cpu_count() or 1
    busy = " on a busy machine" if load > cores else ""
    return (
        f"Time Limit Exceeded (wall clock: {result.seconds:.1f} s without finishing{busy}; "
        f"load {load:.1f} on {cores} cores)"
    )


@dataclass
class RunResult:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False
    """Stopped by the wall-clock backstop."""
    output_exceeded: bool = False
    cpu_exceeded: bool = False
    """Stopped because the process tree used up its CPU seconds."""

    @property
    def killed_by(self) -> int | None:
        """Signal number that ended the program, if any."""
        if self.returncode < 0:
            return -self.returncode
        return self.returncode - 128 if self.returncode > 128 else None


@lru_cache(maxsize=1)
def isolation() -> str:
    """The strongest mode that works here, namespaces (root) or userns (probed once), or
    the mode SDPO_SANDBOX_MODE names. Limits-only is never a silent fallback."""
    forced = os.environ.get(OPT_IN)
    if forced:
        if forced not in PROTECTIONS:
            raise VerifierError(
                f"{OPT_IN}={forced!r} is not a sandbox mode",
                hint=f"use one of {', '.join(PROTECTIONS)}",
            )
        return forced
    candidates = ["namespaces", "userns"] if os.geteuid() == 0 else ["userns"]
    for mode in candidates:
        probe = _launch(["{python}", "-I", "-S", "-c", "print('ok')"], {}, b"", Limits(), mode)
        if probe.returncode == 0 and probe.stdout.strip() == "ok":
            return mode
    raise EnvironmentProblem(
        "no isolated sandbox can be set up here (user namespaces are unavailable)",
        hint=f"enable unprivileged user namespaces, or set {OPT_IN}=limits to run model-written "
        "code with resource limits only (it can then read your files)",
    )


def run_sandboxed(argv: list[str], files: dict[str, str], stdin: str, limits: Limits) -> RunResult:
    """Run argv (relative paths; "{python}" stands for the interpreter) in a fresh private
    directory holding `files`. Raises VerifierError only if the sandbox itself breaks."""
    result = _launch(argv, files, stdin.encode(), limits, isolation())
    if result.returncode == SETUP_FAILED and "sandbox setup failed" in result.stderr:
        raise VerifierError(
            result.stderr.strip().splitlines()[-1],
            hint="run `sdpo doctor`; SDPO_SANDBOX_MODE=limits forces the weakest mode",
        )
    return result


def run_trusted(
    argv: list[str], stdin: str, limits: Limits, cwd: Path, env: dict[str, str]
) -> RunResult:
    """Run the user's own program (a `command` verifier): not isolated, but with the same
    time limits (CPU seconds of its process tree, the wall-clock backstop), process-group
    kill and output cap."""
    return _supervise(argv, str(cwd), stdin.encode(), limits, env)


def _spec(mode: str, workdir: str, limits: Limits) -> str:
    prefix = sys.base_prefix
    site = sysconfig.get_path("purelib", vars={"base": prefix, "platbase": prefix})
    env = {
        "PATH": SAFE_PATH,
        "HOME": JAILED_WORKDIR if mode != "limits" else workdir,
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
    }
    return json.dumps(
        {
            "mode": mode,
            "workdir": workdir,
            "env": env,
            "python_prefix": prefix,
            "python_site": site,
            "python": os.path.realpath(sys.executable),
            "tmpfs_mb": max(16, 2 * limits.max_file_kb // 1024 + 8),
            "limits": {
                "cpu_s": cpu_seconds(limits),
                "as_bytes": limits.memory_mb << 20,
                "fsize_bytes": limits.max_file_kb << 10,
                "nproc": limits.max_processes,
            },
        }
    )


def _launch(
    argv: list[str], files: dict[str, str], stdin: bytes, limits: Limits, mode: str
) -> RunResult:
    workdir = tempfile.mkdtemp(prefix="sdpo-sandbox-")
    try:
        for name, text in files.items():
            Path(workdir, name).write_text(text, encoding="utf-8")
        command = [sys.executable, "-I", "-S", str(JAIL), _spec(mode, workdir, limits), "--", *argv]
        return _supervise(command, workdir, stdin, limits, {"PATH": SAFE_PATH})
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _supervise(
    command: list[str], workdir: str, stdin: bytes, limits: Limits, env: dict[str, str]
) -> RunResult:
    cap = limits.max_output_kb << 10
    start = time.monotonic()
    proc = subprocess.Popen(
        command,
        cwd=workdir,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    captured = {"stdout": bytearray(), "stderr": bytearray()}
    exceeded = threading.Event()

    def drain(stream, name):
        while chunk := stream.read(65536):
            room = cap - len(captured["stdout"]) - len(captured["stderr"])
            captured[name] += chunk[: max(0, room)]
            if len(chunk) > room:
                exceeded.set()
                _kill_group(proc)
                return

    def feed():
        try:
            proc.stdin.write(stdin)
        except (BrokenPipeError, OSError):
            pass
        finally:
            try:
                proc.stdin.close()
            except OSError:
                pass

    threads = [
        threading.Thread(target=drain, args=(proc.stdout, "stdout"), daemon=True),
        threading.Thread(target=drain, args=(proc.stderr, "stderr"), daemon=True),
        threading.Thread(target=feed, daemon=True),
    ]
    for thread in threads:
        thread.start()
    timed_out = cpu_exceeded = False
    deadline = start + wall_clock_s(limits)
    try:
        while True:
            try:
                proc.wait(timeout=min(CPU_POLL_S, max(0.0, deadline - time.monotonic())))
                break
            except subprocess.TimeoutExpired:
                pass
            if time.monotonic() >= deadline:
                timed_out = True
                break
            if tree_cpu_seconds(proc.pid) > limits.timeout_s:
                cpu_exceeded = True
                break
    finally:
        _kill_group(proc)  # also reaps stragglers that outlived the main process
        proc.wait()
    for thread in threads[:2]:
        thread.join(timeout=2)
    return RunResult(
        returncode=proc.returncode,
        stdout=captured["stdout"].decode("utf-8", "replace"),
        stderr=captured["stderr"].decode("utf-8", "replace"),
        seconds=time.monotonic() - start,
        timed_out=timed_out,
        output_exceeded=exceeded.is_set(),
        cpu_exceeded=cpu_exceeded,
    )


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
