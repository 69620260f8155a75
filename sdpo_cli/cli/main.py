"""The `sdpo` command: a Typer app whose commands live one per module.

This is the only layer that prints, reads environment variables and exits. Errors are
shown as `error: what (where)` and `hint: ...` on stderr with their documented exit
code; `--debug` (anywhere on the line) shows the traceback. Command-line usage errors
exit 2. SIGINT and SIGTERM raise Interrupted in the main thread, so every command
unwinds as on Ctrl-C (runs marked cancelled, samplers closed) and exits 130 or 143.
Heavy libraries are imported inside the commands, so `sdpo --help` never imports torch.
"""

from __future__ import annotations

import signal
import sys
import traceback

import typer

from ..cpu_sharing import MODEL_COMMANDS, share_cpu
from ..errors import EXIT_INTERNAL, EXIT_USAGE, Interrupted, SdpoError
from . import calibrate, check, compare, doctor, importing, probe, report, solve, verify

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Test-time discovery on one hard, checkable problem with self-distillation (SDPO).",
)
for module in (solve, compare, report, probe, calibrate, importing, verify, check, doctor):
    module.register(app)

DEBUG = {"on": False}
STOPPED_BY: dict[str, int] = {}


def _version(value: bool) -> None:
    if value:
        from .. import __version__
        from .output import print_out

        print_out(f"sdpo {__version__}")
        raise typer.Exit(0)


@app.callback()
def main(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    DEBUG["on"] = debug


def run() -> None:
    """Console-script entry point: run the app and turn errors into exit codes."""
    args = sys.argv[1:]
    separator = args.index("--") if "--" in args else len(args)
    if "--debug" in args[:separator]:  # accepted after the command too
        DEBUG["on"] = True
        args = [a for a in args[:separator] if a != "--debug"] + args[separator:]
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _interrupt)
    if args and args[0] in MODEL_COMMANDS and share_cpu():  # before torch loads
        sys.stderr.write(
            "note: another sdpo model process is running: threads wait passively "
            "(OMP_WAIT_POLICY=PASSIVE; set it yourself to choose)\n"
        )
    try:
        code = app(args=args, prog_name="sdpo", standalone_mode=False)
        if STOPPED_BY:  # typer returns 130 for a KeyboardInterrupt, whatever the signal
            _exit_interrupted()
        sys.exit(code if isinstance(code, int) else 0)
    except SdpoError as exc:
        _report(f"error: {exc.line()}", exc.hint)
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, typer.Abort, EOFError):
        _exit_interrupted()
    except Exception as exc:
        if _is_parser_error(exc):
            _report(f"error: {exc.format_message()}", "see `sdpo --help`, or `sdpo COMMAND --help`")
            sys.exit(EXIT_USAGE)
        _report(
            f"error: internal error: {type(exc).__name__}: {exc}",
            "this is a bug in sdpo; rerun with --debug and report the traceback",
        )
        sys.exit(EXIT_INTERNAL)


def _exit_interrupted() -> None:
    """Exit 128 + the signal that stopped us (the one _interrupt recorded; Ctrl-C at a
    prompt, which click reports as Abort: SIGINT)."""
    signum = STOPPED_BY.get("signum", signal.SIGINT)
    _report(f"error: interrupted ({signal.Signals(signum).name})", None)
    sys.exit(128 + signum)


def _interrupt(signum: int, frame) -> None:
    """First signal: unwind like Ctrl-C. A second one while unwinding is ignored, so
    the clean-up (closing samplers, marking the run) finishes."""
    for each in (signal.SIGINT, signal.SIGTERM):
        signal.signal(each, signal.SIG_IGN)
    STOPPED_BY["signum"] = signum
    raise Interrupted(signum)


def _is_parser_error(exc: Exception) -> bool:
    """An error of the command-line parser (click's, or the copy typer vendors)."""
    return callable(getattr(exc, "format_message", None)) and isinstance(
        getattr(exc, "exit_code", None), int
    )


def _report(line: str, hint: str | None) -> None:
    if DEBUG["on"]:
        traceback.print_exc()
    sys.stderr.write(line + "\n")
    if hint:
        sys.stderr.write(f"hint: {hint}\n")
