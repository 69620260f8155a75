"""`sdpo doctor`: one table of what this machine offers sdpo (see diagnostics.py)."""

from __future__ import annotations

import typer
from rich.table import Table
from rich.text import Text

from ..errors import EXIT_ENVIRONMENT, EXIT_OK
from .output import emit_json, out

NOT_CACHED = "not cached yet (first run converts it, ~25 s)"


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)


def doctor(
    prepare: bool = typer.Option(
        False, "--prepare", help="Also convert and cache the embedded model now."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Check Python, torch, backends, the embedded model and the sandbox."""
    from ..diagnostics import diagnose

    if prepare:
        from ..models import resolve_model

        resolve_model()
    report = diagnose()
    if json_output:
        emit_json("doctor", report)
    else:
        table = Table(title="sdpo doctor", show_header=False)
        table.add_column("what")
        table.add_column("status")
        mark = lambda ok: Text("ok", "green") if ok else Text("missing", "red")  # noqa: E731
        table.add_row("python", report["python"])
        table.add_row("torch / device", f"{report['torch']} / {report['device']}")
        if report["cuda"]:
            table.add_row("cuda", report["cuda"])
        for index, gpu in enumerate(report["gpus"]):
            table.add_row(
                f"gpu {index}", f"{gpu['name']}: {gpu['free_gib']} of {gpu['total_gib']} GiB free"
            )
        cpu = report["cpu"]
        table.add_row("cpu flags", " ".join(cpu["flags"]) or "-")
        table.add_row("dtype (auto)", f"{cpu['dtype']}: {cpu['why']}")
        for name, status in report["backends"].items():
            table.add_row(
                f"backend {name}", Text.assemble(mark(status["ok"]), f" {status['detail']}")
            )
        table.add_row("default backend", report["default_backend"])
        table.add_row("vllm platform", report["vllm_platform"] or "-")
        shm = report["shm_gib"]
        table.add_row("/dev/shm", "missing" if shm is None else f"{shm} GiB")
        off = [name for name, on in report["offline"].items() if on]
        table.add_row("hub", f"offline ({', '.join(off)})" if off else "online allowed")
        model = report["model"]
        table.add_row(
            f"model {model['name']}",
            Text.assemble(
                mark(model["gguf"] is not None),
                f" {'cached at ' + model['cache_path'] if model['cached'] else NOT_CACHED}",
            ),
        )
        sandbox = report["sandbox"]
        table.add_row(
            "sandbox",
            f"{sandbox['mode']}: {', '.join(sandbox['protections'])}"
            if sandbox["mode"]
            else Text.assemble(("none", "red"), f": {sandbox['error']}; {sandbox['hint']}"),
        )
        out.print(table)
    raise typer.Exit(EXIT_OK if report["ok"] else EXIT_ENVIRONMENT)
