"""Command-line override flags derived from the parameter declarations.

One optional flag per user parameter of L2A_GIPP.xml, named like its element (--Aerosol_Type,
--Nr_Threads, --row0 ...), so that a GIPP value can be changed for one run without editing the
file. Values are checked at parse time with the same rules as the files (argparse choices for
word lists, the declaration's validator otherwise), and `overrides_from_args` hands the flags
the user actually gave to `load_config(overrides=...)`.
"""
from __future__ import annotations

import argparse
from typing import Any, Callable, Dict

from .parameters import Param, user_parameters
from .values import Kind, ValueProblem, check_value, describe_allowed, format_value, parse_text

GROUP_TITLE = "L2A_GIPP overrides"
DEST_PREFIX = "gipp_override_"

# Sen2Cor's own L2A_Process options: a GIPP flag must never shadow one of them.
SEN2COR_OPTIONS = frozenset(name.lower() for name in (
    "input_dir", "mode", "resolution", "datastrip", "tile", "output_dir", "work_dir",
    "img_database_dir", "res_database_dir", "processing_centre", "archiving_centre",
    "processing_baseline", "raw", "tif", "sc_only", "sc_classic", "sc_cog", "cr_only", "debug",
    "GIP_L2A", "GIP_L2A_SC", "GIP_L2A_AC", "GIP_L2A_PB", "help", "h", "version"))

_METAVARS = {Kind.INT: "INT", Kind.FLOAT: "NUMBER", Kind.STR: "TEXT",
             Kind.ROI: "{OFF,AUTO,N}", Kind.THREADS: "{AUTO,N}"}


def flag_parameters() -> tuple:
    """The user parameters that get a flag (exposed ones whose name is not Sen2Cor's)."""
    return tuple(p for p in user_parameters() if p.element.lower() not in SEN2COR_OPTIONS)


def add_override_arguments(parser: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    """Add the group "L2A_GIPP overrides" with one optional flag per user parameter.

    Every flag defaults to None (= not given, the GIPP file decides). Flags whose option string
    the parser already has are skipped, so this can be called after Sen2Cor's own options.
    """
    group = parser.add_argument_group(
        GROUP_TITLE, "Change one value of L2A_GIPP.xml for this run (the file is not modified).")
    for param in flag_parameters():
        option = f"--{param.element}"
        if option in parser._option_string_actions:  # noqa: SLF001 - argparse has no public test
            continue
        group.add_argument(option, dest=DEST_PREFIX + param.name, default=None,
                           help=_help(param), **_type_and_choices(param))
    return group


def overrides_from_args(namespace: argparse.Namespace) -> Dict[str, Any]:
    """Typed values of the override flags the user gave, keyed by Python parameter name."""
    overrides: Dict[str, Any] = {}
    for param in flag_parameters():
        value = getattr(namespace, DEST_PREFIX + param.name, None)
        if value is not None:
            overrides[param.name] = check_value(param, value)
    return overrides


def _type_and_choices(param: Param) -> Dict[str, Any]:
    if param.kind is Kind.ENUM:
        return {"choices": list(param.choices), "metavar": None}
    if param.kind is Kind.BOOL:
        choices = [param.true_text, param.false_text]
        return {"choices": choices, "type": _upper_or_lower(param), "metavar": None}
    if param.kind is Kind.INT and param.choices:
        return {"choices": list(param.choices), "type": _converter(param), "metavar": None}
    return {"type": _converter(param), "metavar": _METAVARS.get(param.kind, "VALUE")}


def _converter(param: Param) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        try:
            return parse_text(param, text)
        except ValueProblem as problem:
            raise argparse.ArgumentTypeError(f"{text!r} {problem}") from None

    convert.__name__ = param.element  # argparse names the type in some messages
    return convert


def _upper_or_lower(param: Param) -> Callable[[str], str]:
    """Booleans are typed in any case and shown in the file's own spelling (TRUE/FALSE)."""
    def convert(text: str) -> str:
        low = text.strip().lower()
        if low == "true":
            return param.true_text
        if low == "false":
            return param.false_text
        return text

    convert.__name__ = param.element
    return convert


def _help(param: Param) -> str:
    text = (f"{param.help} Default {format_value(param, param.default)}; "
            f"allowed {describe_allowed(param)}.")
    return text.replace("%", "%%")
