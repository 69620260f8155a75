"""The numeric format follows the processor: bf16 only where it is computed natively."""

import json

import pytest
from conftest import inline_solve, run_sdpo

from sdpo_cli.hardware import choose_dtype, cpu_flags, native_bf16, shown_flags

INTEL_AMX = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n"
AMD_AVX2 = (
    "processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma\n\nprocessor\t: 1\nflags\t: avx512_bf16\n"
)
ARM = "processor\t: 0\nFeatures\t: fp asimd sve bf16 i8mm\n"


def test_flags_come_from_the_first_processor():
    assert cpu_flags(AMD_AVX2) == {"fpu", "sse2", "avx", "avx2", "fma"}
    assert "amx_bf16" in cpu_flags(INTEL_AMX) and "bf16" in cpu_flags(ARM)
    assert cpu_flags("no flags here") == set()
    assert shown_flags(cpu_flags(INTEL_AMX)) == [
        "amx_bf16",
        "amx_tile",
        "avx2",
        "avx512_bf16",
        "avx512f",
    ]


@pytest.mark.parametrize(
    "cpuinfo,machine,device,expected",
    [
        (INTEL_AMX, "x86_64", "cpu", "bfloat16"),
        (AMD_AVX2, "x86_64", "cpu", "float32"),
        (ARM, "aarch64", "cpu", "bfloat16"),
        ("Features\t: fp asimd\n", "aarch64", "cpu", "float32"),
        (AMD_AVX2, "x86_64", "cuda", "bfloat16"),
    ],
)
def test_auto_picks_bf16_only_where_it_is_native(cpuinfo, machine, device, expected):
    dtype, why = choose_dtype("auto", device, cpu_flags(cpuinfo), machine)
    assert dtype == expected and why.startswith("auto:")


def test_native_bf16_by_architecture():
    assert native_bf16(cpu_flags(INTEL_AMX), "x86_64") and native_bf16(cpu_flags(ARM), "aarch64")
    assert not native_bf16(cpu_flags(AMD_AVX2), "x86_64")
    assert not native_bf16({"bf16"}, "x86_64")  # an Arm flag means nothing on x86


def test_an_explicit_dtype_wins():
    assert choose_dtype("bfloat16", "cpu", cpu_flags(AMD_AVX2), "x86_64") == (
        "bfloat16",
        "asked for with --dtype",
    )


def test_the_chosen_dtype_is_recorded_in_the_run(tmp_path, tiny_model_dir):
    out = tmp_path / "r"
    result = run_sdpo(
        *inline_solve(tiny_model_dir),
        "--max-new-tokens",
        8,
        "--budget",
        4,
        "--batch",
        4,
        "--dtype",
        "float32",
        "--out",
        out,
    )
    assert result.returncode == 0, result.stderr
    info = json.loads((out / "run.json").read_text())
    assert info["dtype"]["dtype"] == "float32" and info["dtype"]["why"] == "asked for with --dtype"
    assert info["config"]["train"]["dtype"] == "float32"
    assert isinstance(info["dtype"]["cpu_flags"], list)


def test_a_containers_cpu_quota_is_read(tmp_path):
    from sdpo_cli.hardware import cpu_quota

    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert cpu_quota(str(tmp_path)) == 1.5
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert cpu_quota(str(tmp_path)) is None
    (tmp_path / "cpu.max").unlink()
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("200000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert cpu_quota(str(tmp_path)) == 2.0
    assert cpu_quota(str(tmp_path / "none")) is None


def test_usable_cpus_are_the_affinity_cut_to_the_quota(monkeypatch):
    from sdpo_cli import hardware

    monkeypatch.setattr(hardware.os, "sched_getaffinity", lambda pid: {3, 1, 2, 0})
    monkeypatch.setattr(hardware, "cpu_quota", lambda: 1.5)
    assert hardware.usable_cpus() == [0, 1]
    monkeypatch.setattr(hardware, "cpu_quota", lambda: None)
    assert hardware.usable_cpus() == [0, 1, 2, 3]
