"""`--config FILE`: option values from a TOML file, for solve, compare, probe and
calibrate. Keys are the command's flags without the dashes (`budget`, `lr`,
`max-new-tokens` or `max_new_tokens`); a table gives a KEY=VALUE option
(`[model_args]`), a list a comma-separated one (`lora_targets`). The file only changes
defaults, so a flag given on the command line wins; the resolved settings are what
run.json records."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import typer

from ..errors import UsageError

OPTION = "option"


def config_file_defaults(ctx: typer.Context, value: Path | None) -> Path | None:
    """Eager callback of --config: the file's values become the command's defaults."""
    if value is not None:
        ctx.default_map = {**(ctx.default_map or {}), **option_defaults(value, ctx.command)}
    return value


def option_defaults(path: Path, command) -> dict[str, Any]:
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read the config file: {exc.strerror}", str(path)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"the config file is not valid TOML: {exc}", str(path)) from None
    names = option_names(command)
    defaults = {}
    for key, value in data.items():
        name = names.get(key.replace("-", "_"))
        if name is None:
            raise UsageError(
                f"the config file sets {key!r}, which `sdpo {command.name}` has no option for",
                str(path),
                hint=f"see `sdpo {command.name} --help`",
            )
        defaults[name] = option_text(value)
    return defaults


def option_names(command) -> dict[str, str]:
    """Each option's flags without dashes (hyphens as underscores), and its own name, to
    the parameter's name; --config itself excluded."""
    names = {}
    for param in command.params:
        if getattr(param, "param_type_name", "") != OPTION or param.name == "config":
            continue
        names[param.name] = param.name
        for flag in param.opts:
            names[flag.lstrip("-").replace("-", "_")] = param.name
    return names


def option_text(value: Any) -> Any:
    """A TOML value as the option takes it: tables as KEY=VALUE lists, lists joined."""
    if isinstance(value, dict):
        return ",".join(f"{k}={option_text(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ",".join(str(option_text(v)) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return value
