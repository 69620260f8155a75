"""Hostile attempts against the sandbox, in every isolated mode this machine supports:
reading the hidden tests off the disk, outliving the verdict after `setsid`, using up
another sandbox's process budget, writing to the host, and calling into the kernel."""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, code
from sandbox_programs import hog_beside_worker, processes_with, run_program

from sdpo_cli.errors import EnvironmentProblem, VerifierError
from sdpo_cli.problem import Limits
from sdpo_cli.verifiers import sandbox
from sdpo_cli.verifiers.registry import load_checked
from sdpo_cli.verifiers.sandbox import isolation

MODES = (["namespaces"] if os.geteuid() == 0 else []) + ["userns"]
SECRET = "hidden-expected-7741"


@pytest.fixture(params=MODES)
def mode(request, monkeypatch):
    monkeypatch.setenv("SDPO_SANDBOX_MODE", request.param)
    isolation.cache_clear()
    try:
        isolation()
    except (EnvironmentProblem, VerifierError) as exc:  # machines without user namespaces
        pytest.skip(f"{request.param} is not available here: {exc}")
    yield request.param
    isolation.cache_clear()


@pytest.fixture
def secret_problem(tmp_path):
    """A function problem whose hidden test's expected value is SECRET: only a program
    that reads this file can return it."""
    data = {
        "id": "secret",
        "prompt": "Return the magic string.",
        "verifier": {
            "kind": "python",
            "entry_point": "magic",
            "tests": [{"args": [1], "expected": SECRET, "hidden": True}],
        },
    }
    path = tmp_path / "secret.json"
    path.write_text(json.dumps(data))
    return path


def test_the_problem_file_cannot_be_read(mode, secret_problem):
    cheat = f"""
import json, os
WANTED = "hidden-expected-" + str(7741)  # not spelled out, so this file does not match itself
def magic(x):
    try:
        return json.load(open({str(secret_problem)!r}))["verifier"]["tests"][0]["expected"]
    except OSError:
        pass
    for top in ("/", "/root", "/home", "/work", "/tmp", "/var", "/run", "/srv", "/opt"):
        for folder, _, names in os.walk(top):
            for name in names:
                try:
                    text = open(os.path.join(folder, name), errors="ignore").read(1 << 20)
                except OSError:
                    continue
                if WANTED in text:
                    return WANTED
    return "not found"
"""
    verifier = load_checked(secret_problem)[1]
    verdict = verifier.verify(code(cheat))
    assert not verdict.passed
    assert verdict.details["tests_passed"] == 0


def test_host_directories_are_absent_and_the_root_is_read_only(mode):
    probe = """
import os
for path in ("/root/.ssh", "/home", "/work", "/etc/passwd", "/run/lock", "/var/tmp", "/dev/shm"):
    print(path, os.path.exists(path))
for folder in ("/", "/usr", "/etc", "/tmp", "."):
    try:
        open(os.path.join(folder, "sdpo-probe.txt"), "w").write("x")
        print(folder, "writable")
    except OSError:
        print(folder, "read-only")
"""
    before = set(os.listdir("/run/lock")) if os.path.isdir("/run/lock") else set()
    result = run_program(probe)
    lines = dict(line.rsplit(" ", 1) for line in result.stdout.strip().splitlines())
    assert result.returncode == 0, result.stderr
    for path in (
        "/root/.ssh",
        "/home",
        "/work",
        "/etc/passwd",
        "/run/lock",
        "/var/tmp",
        "/dev/shm",
    ):
        assert lines[path] == "False", path
    assert [lines[f] for f in ("/", "/usr", "/etc")] == ["read-only"] * 3
    assert lines["/tmp"] == lines["."] == "writable"
    after = set(os.listdir("/run/lock")) if os.path.isdir("/run/lock") else set()
    assert after == before


def test_nothing_survives_a_setsid_escape(mode, tmp_path):
    marker = f"sdpo-escape-{os.getpid()}-{mode}"
    escape = f"""
import os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(60)", {marker!r}])
    os._exit(0)
time.sleep(0.3)
print("escaped", flush=True)
while True:
    pass
"""
    result = run_program(escape, Limits(timeout_s=1.5))
    assert result.cpu_exceeded and "escaped" in result.stdout  # the busy loop's CPU time
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and processes_with(marker):
        time.sleep(0.1)
    assert processes_with(marker) == []


def test_one_sandbox_cannot_use_up_anothers_process_budget(mode):
    if mode == "userns" and os.geteuid() == 0:
        pytest.skip(
            "root's processes are exempt from process limits; the unprivileged test covers userns"
        )
    hog_output, result = hog_beside_worker(run_program)
    assert "hog holds" in hog_output
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


def test_kernel_attack_surface_is_refused(mode):
    if os.uname().machine != "x86_64":
        pytest.skip("the seccomp filter has a syscall table for x86-64 only")
    probe = """
import ctypes, threading
libc = ctypes.CDLL(None, use_errno=True)
print("unshare", libc.unshare(0x10000000), ctypes.get_errno())
print("ptrace", libc.ptrace(0, 0, 0, 0), ctypes.get_errno())
print("mount", libc.mount(b"none", b"/tmp", b"tmpfs", 0, None), ctypes.get_errno())
t = threading.Thread(target=print, args=("threads", "work"))
t.start(); t.join()
"""
    result = run_program(probe)
    assert result.stdout.split("\n")[:3] == ["unshare -1 1", "ptrace -1 1", "mount -1 1"]
    assert "threads work" in result.stdout


@pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("setpriv") or not os.path.exists("/usr/bin/python3"),
    reason="needs root to drop to an unprivileged user, setpriv and a system python3",
)
def test_unprivileged_user_gets_the_same_isolation(secret_problem, tmp_path):
    """As user nobody (no root at all): the mode is userns, the cheat still fails, and a
    sandbox that forks to its limit leaves the next one its own process budget."""
    if not os.access(ROOT, os.R_OK | os.X_OK) or _mode_bits_block_nobody(ROOT):
        pytest.skip("the checkout is not readable by user nobody")
    os.chmod(secret_problem.parent, 0o755)
    os.chmod(secret_problem, 0o644)
    script = f"""
import json, sys
sys.path.insert(0, {str(ROOT)!r})
from sdpo_cli.verifiers.sandbox import isolation, run_sandboxed
from sdpo_cli.problem import Limits
source = ("import os\\ntry:\\n    print(open({str(secret_problem)!r}).read())\\n"
          "except OSError as e:\\n    print('blocked', e.errno)")
sys.path.insert(0, {str(Path(__file__).parent)!r})
from sandbox_programs import hog_beside_worker, processes_with, run_program
result = run_program(source)
hog_output, worker = hog_beside_worker(run_program)
print(json.dumps({{"mode": isolation(), "out": result.stdout, "hog": hog_output,
                  "worker": worker.stdout,
                  "worker_rc": worker.returncode}}))
"""
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp"}
    done = subprocess.run(
        [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "/usr/bin/python3",
            "-I",
            "-c",
            script,
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd="/",
        timeout=60,
    )
    if done.returncode != 0 and "no isolated sandbox" in done.stderr:
        pytest.skip("unprivileged user namespaces are disabled here")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["mode"] == "userns"
    assert report["out"].strip() == "blocked 2"
    assert "hog holds" in report["hog"]
    assert (report["worker_rc"], report["worker"].strip()) == (0, "ok")


def _mode_bits_block_nobody(path: Path) -> bool:
    for folder in [path, *path.parents]:
        if not os.stat(folder).st_mode & 0o001:
            return True
    return False


def test_limits_only_needs_an_explicit_opt_in(monkeypatch):
    monkeypatch.delenv("SDPO_SANDBOX_MODE", raising=False)
    monkeypatch.setattr(sandbox, "_launch", lambda *a, **k: sandbox.RunResult(125, "", "no", 0.0))
    isolation.cache_clear()
    try:
        with pytest.raises(EnvironmentProblem) as info:
            isolation()
        assert "SDPO_SANDBOX_MODE=limits" in info.value.hint
        monkeypatch.setenv("SDPO_SANDBOX_MODE", "limits")
        isolation.cache_clear()
        assert isolation() == "limits"
    finally:
        isolation.cache_clear()


def test_an_unknown_forced_mode_is_refused(monkeypatch):
    monkeypatch.setenv("SDPO_SANDBOX_MODE", "chroot")
    isolation.cache_clear()
    try:
        with pytest.raises(VerifierError) as info:
            isolation()
        assert "'chroot' is not a sandbox mode" in info.value.what
    finally:
        isolation.cache_clear()


def test_a_jail_that_cannot_be_set_up_is_a_verifier_error(monkeypatch):
    monkeypatch.setattr(sandbox, "isolation", lambda: "no-such-mode")
    with pytest.raises(VerifierError) as info:
        run_program("print(1)")
    assert "sandbox setup failed: unknown mode 'no-such-mode'" in info.value.what


def test_forced_limits_mode_still_runs_and_limits(monkeypatch):
    monkeypatch.setenv("SDPO_SANDBOX_MODE", "limits")
    isolation.cache_clear()
    try:
        result = run_program("print(sum(range(10)))")
        assert result.stdout.strip() == "45"
        hog = run_program("b = bytearray(4 * 1024 ** 3)", Limits(memory_mb=256))
        assert hog.returncode != 0 and "MemoryError" in hog.stderr
    finally:
        isolation.cache_clear()


def test_nothing_survives_when_sdpo_itself_is_killed(mode):
    """SIGKILL of the process that verifies: the launcher and its namespace die with it."""
    marker = f"sdpo-orphan-{os.getpid()}-{mode}"
    program = (
        "import os, sys\nos.execv(sys.executable, "
        f"[sys.executable, '-c', 'import time; time.sleep(60)', {marker!r}])"
    )
    driver = (
        f"import sys; sys.path[:0] = [{str(ROOT)!r}, {str(Path(__file__).parent)!r}]\n"
        "from sdpo_cli.problem import Limits\nfrom sandbox_programs import run_program\n"
        f"run_program({program!r}, Limits(timeout_s=30))\n"
    )
    env = {**os.environ, "SDPO_SANDBOX_MODE": mode}
    verifying = subprocess.Popen([sys.executable, "-c", driver], env=env)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not processes_with(marker):
        time.sleep(0.1)
    assert processes_with(marker), "the program never started"
    verifying.kill()
    verifying.wait()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and processes_with(marker):
        time.sleep(0.1)
    assert processes_with(marker) == []


def test_doctor_reports_a_machine_without_isolation(monkeypatch):
    from sdpo_cli.diagnostics import sandbox_status

    monkeypatch.delenv("SDPO_SANDBOX_MODE", raising=False)
    monkeypatch.setattr(sandbox, "_launch", lambda *a, **k: sandbox.RunResult(125, "", "no", 0.0))
    isolation.cache_clear()
    try:
        status = sandbox_status()
    finally:
        isolation.cache_clear()
    assert status["mode"] is None and "no isolated sandbox" in status["error"]
    assert "SDPO_SANDBOX_MODE=limits" in status["hint"]
