"""Progress at every phase: the live status line's content, and what a non-terminal
stderr gets instead (the start-up phases as plain lines, no live display)."""

from conftest import inline_solve, run_sdpo

from sdpo_cli import activity
from sdpo_cli.cli.live import Status, seconds_left, status


def test_the_status_line_follows_the_phases():
    shown = Status(live=False)
    with activity.listening(shown):
        activity.phase("sampling", round=2, attempts=8)
        assert "sampling" in shown.render().plain and "round 2: 8 attempts" in shown.render().plain
        activity.phase("verifying", round=2, attempts=8)
        for _ in range(3):
            activity.verified()
        assert "3/8 verified" in shown.render().plain
        shown.last_round = {"used": 16, "budget": 64, "tokens_per_s": 250.0, "elapsed_s": 40.0}
        activity.phase("updating", round=2, attempts=8)
        line = shown.render().plain
        assert "updating" in line and "16/64 used" in line and "250 tok/s" in line
        assert "~120s left" in line  # 48 attempts to go at 2.5 s each
    activity.phase("sampling", round=3, attempts=8)  # no listener: nothing happens
    assert shown.phase_name == "updating"


def test_seconds_left_is_the_pace_so_far():
    assert seconds_left({"used": 8, "budget": 32, "elapsed_s": 20.0}) == 60.0


def test_json_and_pipes_get_no_live_display():
    with status(json_output=True) as shown:
        assert shown.display is None


def test_a_piped_run_prints_its_start_up_phases(tmp_path, tiny_model_dir):
    result = run_sdpo(
        *inline_solve(tiny_model_dir),
        "--max-new-tokens",
        8,
        "--out",
        tmp_path / "r",
    )
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert "loading model ..." in lines and "starting sampler ..." in lines
    assert lines.index("loading model ...") < lines.index("starting sampler ...")
    assert "\x1b[" not in result.stderr  # no terminal control codes in a pipe
