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


def test_processes_other_than_the_owner_die_with_their_parent():
    """In a child of the owner, the hook asks for SIGKILL on the parent's death; in the
    owner itself (which also loads vLLM's plugins) it asks nothing."""
    import os
    import subprocess
    import sys

    probe = (
        "import ctypes, os, sys; from sdpo_cli.backends.vllm_plugin import register; register(); "
        "libc = ctypes.CDLL(None); signal = ctypes.c_int(); "
        "libc.prctl(2, ctypes.byref(signal), 0, 0, 0); "
        "print(signal.value)"
    )
    env = {k: v for k, v in os.environ.items() if k != SPIN_ENV}
    child = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env={**env, "SDPO_VLLM_OWNER_PID": str(os.getpid())},
    )
    owner = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os; os.environ['SDPO_VLLM_OWNER_PID'] = str(os.getpid()); " + probe,
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert (child.stdout.strip(), owner.stdout.strip()) == ("9", "0"), child.stderr + owner.stderr
