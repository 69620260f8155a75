"""The vLLM plugin that shortens the busy-wait of vLLM's processes between requests."""

import time
from importlib.metadata import entry_points
from types import SimpleNamespace

import pytest

from sdpo_cli.backends.vllm_plugin import SPIN_ENV, register

shm_broadcast = pytest.importorskip("vllm.distributed.device_communicators.shm_broadcast")


@pytest.fixture
def original_wait():
    """vLLM's own wait, installed for the test (an engine started earlier in this
    process has already loaded the plugin), and whatever was there put back after."""
    wait = shm_broadcast.SpinCondition.wait
    original = getattr(wait, "sdpo_original", wait)
    shm_broadcast.SpinCondition.wait = original
    yield original
    shm_broadcast.SpinCondition.wait = wait


def test_registered_where_vllm_loads_its_plugins_in_every_process():
    plugins = {ep.name: ep.value for ep in entry_points(group="vllm.general_plugins")}
    assert plugins.get("sdpo_idle_spin") == "sdpo_cli.backends.vllm_plugin:register"


def test_does_nothing_unless_asked(monkeypatch, original_wait):
    monkeypatch.delenv(SPIN_ENV, raising=False)
    register()
    assert shm_broadcast.SpinCondition.wait is original_wait


def test_caps_the_spin_of_every_reader_once(monkeypatch, original_wait):
    monkeypatch.setenv(SPIN_ENV, "0.1")
    register()
    register()  # loaded twice in one process: installed once
    patched = shm_broadcast.SpinCondition.wait
    assert patched.sdpo_original is original_wait and patched.sdpo_spin_s == 0.1
    reader = SimpleNamespace(is_reader=True, busy_loop_s=1.0, last_read=time.monotonic())
    patched(reader)  # just read: vLLM yields the CPU once and returns
    assert reader.busy_loop_s == 0.1


def test_processes_other_than_the_owner_exit_once_it_is_gone():
    """A vLLM process (here a stand-in that loads the hook) exits within seconds of the
    sdpo process it serves ending, even by SIGKILL; the owner itself watches nothing."""
    import os
    import subprocess
    import sys
    import time

    from sdpo_cli.backends.vllm_plugin import OWNER_ENV, owner_alive

    owner = subprocess.Popen(["sleep", "60"])
    env = {k: v for k, v in os.environ.items() if k != SPIN_ENV}
    served = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from sdpo_cli.backends.vllm_plugin import register; "
            "import time; register(); time.sleep(60)",
        ],
        env={**env, OWNER_ENV: str(owner.pid)},
    )
    time.sleep(1.5)
    assert served.poll() is None and owner_alive(owner.pid)
    owner.kill()
    owner.wait()
    assert not owner_alive(owner.pid)
    assert served.wait(timeout=5) == 1
    itself = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, threading; os.environ['" + OWNER_ENV + "'] = "
            "str(os.getpid()); from sdpo_cli.backends.vllm_plugin import register; register(); "
            "print(sorted(t.name for t in threading.enumerate()))",
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert itself.stdout.strip() == "['MainThread']", itself.stderr
