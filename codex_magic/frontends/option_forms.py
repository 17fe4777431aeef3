"""What is generated from the options' one declaration (``options.Options``).

The command line's and the magic's arguments, the ``%config CodexMagics.<name>``
traits, and the schema the JupyterLab sidebar builds its form from.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
from collections.abc import Callable, Collection
from typing import Any

from ..options import Options, describe_default, specs
from ..types import CodexError


def argument_specs(only: Collection[str] | None = None
                   ) -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    """(flags, argparse keyword arguments) of every option (or of those named in
    ``only``): unset flags stay None."""
    out = []
    for name, spec, default in specs():
        if only is not None and name not in only:
            continue
        kwargs: dict[str, Any] = {"dest": name + ("_file" if spec.from_file else ""),
                                  "default": None,
                                  "help": spec.help.format(default=describe_default(spec,
                                                                                   default))}
        if spec.kind is bool:
            kwargs |= {"action": "store_const", "const": not default}
        else:
            if spec.kind is not str:
                kwargs["type"] = spec.kind
            if spec.choices:
                kwargs["choices"] = spec.choices
            if spec.metavar:
                kwargs["metavar"] = spec.metavar
        out.append((spec.flags, kwargs))
    return out


def add_arguments(parser: argparse.ArgumentParser, only: Collection[str] | None = None
                  ) -> None:
    for flags, kwargs in argument_specs(only):
        parser.add_argument(*flags, **kwargs)


def decorate_with_arguments(func: Callable[..., Any], only: Collection[str] | None = None
                            ) -> Callable[..., Any]:
    """The magic's ``@magic_arguments`` and one ``@argument`` per option (in ``only``)."""
    from IPython.core.magic_arguments import argument, magic_arguments

    for flags, kwargs in reversed(argument_specs(only)):
        func = argument(*flags, **kwargs)(func)
    return magic_arguments()(func)  # type: ignore[no-any-return]


def options_from_args(args: argparse.Namespace, base: Options | None = None) -> Options:
    """Options from parsed arguments; flags not given keep ``base``'s values."""
    changes: dict[str, Any] = {}
    for name, spec, _ in specs():
        if spec.from_file:
            path = getattr(args, name + "_file", None)
            if path:
                changes[name] = _read_text(path, spec.flag)
            continue
        value = getattr(args, name, None)
        if value is not None:
            changes[name] = value
    return dataclasses.replace(base or Options(), **changes)


def _read_text(path: str, flag: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise CodexError(f"cannot read the {flag[2:]} file {path}: "
                         f"{getattr(e, 'strerror', None) or e}") from None


def config_traits() -> dict[str, Any]:
    """A ``%config``-able trait per option, with the option's default and help."""
    import traitlets

    traits: dict[str, traitlets.TraitType[Any, Any]] = {}
    for name, spec, default in specs():
        if not spec.config:
            continue
        help = spec.help.format(default=describe_default(spec, default))
        if spec.choices:
            trait: traitlets.TraitType[Any, Any] = (
                traitlets.Enum(list(spec.choices), None, allow_none=True, help=help)
                if default is None else traitlets.Enum(list(spec.choices), default, help=help))
        elif spec.kind is bool:
            trait = traitlets.Bool(default, help=help)
        else:
            cls = {int: traitlets.CInt, float: traitlets.CFloat, str: traitlets.Unicode}
            trait = cls[spec.kind](default, allow_none=default is None, help=help)
        traits[name] = trait.tag(config=True)
    return traits


def schema() -> list[dict[str, Any]]:
    """The sidebar's form: every option it shows, with type, default, bounds and help."""
    out = []
    for name, spec, default in specs():
        if not spec.label:
            continue
        kind = "choice" if spec.choices else {int: "int", float: "float", str: "str",
                                              bool: "bool"}[spec.kind]
        out.append({
            "name": name, "label": spec.label, "flag": spec.flag, "type": kind,
            "default": default, "nullable": default is None,
            "placeholder": spec.placeholder or spec.unset, "advanced": spec.more,
            "help": spec.help.format(default=describe_default(spec, default)),
            "min": spec.low, "max": spec.high, "min_exclusive": spec.low_open,
            "choices": list(spec.choices),
        })
    return out


def markdown_table() -> str:
    """The README's table of options, one row each: flags, default, meaning."""
    rows = ["| option | default | meaning |", "|---|---|---|"]
    for _, spec, default in specs():
        value = spec.metavar or ("\\|".join(spec.choices) if spec.choices else "")
        flags = "`" + "/".join(spec.flags) + (f" {value}" if value else "") + "`"
        shown = "off" if spec.kind is bool else describe_default(spec, default) or "none"
        # The default has its own column: drop it from the help, keep what follows it.
        meaning = re.sub(r"\(default[^;)]*;\s*", "(", spec.help)
        meaning = re.sub(r"\s*\(default[^)]*\)", "", meaning).replace("|", "\\|")
        rows.append(f"| {flags} | {shown} | {meaning} |")
    return "\n".join(rows) + "\n"
