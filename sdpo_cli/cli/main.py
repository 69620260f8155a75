"""The `sdpo` command: a Typer app whose commands live one per module.

This is the only layer that prints, reads environment variables and exits. Errors are
shown as `error: what (where)` and `hint: ...` on stderr with their documented exit
code; `--debug` shows the traceback. Heavy libraries are imported inside the commands,
so `sdpo --help` never imports torch.
"""

from __future__ import annotations

import sys
import traceback

import typer

from ..errors import EXIT_INTERNAL, EXIT_INTERRUPTED, SdpoError
from . import check, compare, doctor, probe, report, solve, verify

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Test-time discovery on one hard, checkable problem with self-distillation (SDPO).")
for module in (solve, compare, report, probe, verify, check, doctor):
    module.register(app)

DEBUG = {"on": False}


def _version(value: bool) -> None:
    if value:
        from .. import __version__

        from .output import print_out

        print_out(f"sdpo {__version__}")
        raise typer.Exit(0)


@app.callback()
def main(debug: bool = typer.Option(False, "--debug", help="Show tracebacks of errors."),
         version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                      help="Print the version and exit.")) -> None:
    DEBUG["on"] = debug


def run() -> None:
    """Console-script entry point: run the app and turn errors into exit codes."""
    try:
        code = app(standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except SdpoError as exc:
        _report(f"error: {exc.line()}", exc.hint)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        _report("error: interrupted", None)
        sys.exit(EXIT_INTERRUPTED)
    except (typer.Abort, EOFError):  # click turns Ctrl-C into Abort
        _report("error: aborted", None)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:  # click usage errors carry their own exit code (2)
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        _report(f"error: internal error: {type(exc).__name__}: {exc}",
                "this is a bug in sdpo; rerun with --debug and report the traceback")
        sys.exit(EXIT_INTERNAL)


def _report(line: str, hint: str | None) -> None:
    if DEBUG["on"]:
        traceback.print_exc()
    sys.stderr.write(line + "\n")
    if hint:
        sys.stderr.write(f"hint: {hint}\n")
