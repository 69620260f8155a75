"""Passive OpenMP waiting beside another sdpo model process (cpu_sharing.py)."""

from sdpo_cli.cpu_sharing import is_model_command, other_model_processes, share_cpu


def fake_proc(tmp_path, commands: dict[int, list[str]]):
    for pid, argv in commands.items():
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv) + b"\0")
    (tmp_path / "self").mkdir()  # not a pid: ignored
    return str(tmp_path)


def test_model_commands_are_recognised():
    assert is_model_command(["/venv/bin/python", "-m", "sdpo_cli", "solve", "p.json"])
    assert is_model_command(["/venv/bin/python", "/venv/bin/sdpo", "compare", "problems/"])
    assert is_model_command(["sdpo", "calibrate", "x"])
    assert not is_model_command(["sdpo", "check", "p.json"])
    assert not is_model_command(["python", "solve.py"])
    assert not is_model_command(["vim", "sdpo", "solve"])


def test_other_model_processes_are_found_but_not_this_one(tmp_path):
    proc = fake_proc(
        tmp_path,
        {
            10: ["python", "-m", "sdpo_cli", "solve", "a.json"],
            11: ["sdpo", "doctor"],
            12: ["bash"],
            13: ["sdpo", "probe", "b.json"],
        },
    )
    assert other_model_processes(proc, me=13) == [10]
    assert other_model_processes(proc, me=1) == [10, 13]


def test_the_policy_is_set_only_when_side_by_side_and_never_over_the_users():
    environ = {}
    assert share_cpu(environ, side_by_side=False) is None and environ == {}
    assert share_cpu(environ, side_by_side=True) == "PASSIVE"
    assert environ == {"OMP_WAIT_POLICY": "PASSIVE"}
    mine = {"OMP_WAIT_POLICY": "ACTIVE"}
    assert share_cpu(mine, side_by_side=True) is None and mine["OMP_WAIT_POLICY"] == "ACTIVE"


def test_each_process_gets_its_share_of_the_cpus():
    from sdpo_cli.cpu_sharing import fair_share

    assert fair_share(2, 0) == 2 and fair_share(2, 1) == 1 and fair_share(2, 3) == 1
    assert fair_share(16, 3) == 4 and fair_share(1, 0) == 1
