"""The host tools' console: rich on a terminal, whole lines everywhere else.

A message written to a pipe, a file or a CI log is never hard-wrapped: people grep it and a
log keeps it whole, whatever the path length or `COLUMNS`. Tables written there get a fixed
wide width, so their layout does not depend on the environment either.
"""
from __future__ import annotations

import argparse
import sys
from typing import IO

from rich.console import Console

PIPE_WIDTH = 200  # tables off a terminal: wide and independent of COLUMNS


def make_console(file: IO[str] | None = None, **kw) -> Console:
    """A Console for `file` (default stdout): terminal width and wrapping on a terminal;
    `soft_wrap` (no inserted line breaks) and a fixed width otherwise."""
    out = file if file is not None else sys.stdout
    kw.setdefault("highlight", False)
    if not (hasattr(out, "isatty") and out.isatty()):
        kw.setdefault("soft_wrap", True)
        kw.setdefault("width", PIPE_WIDTH)
    return Console(file=file, **kw)


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """argparse help that is wrapped to the terminal on a terminal and never broken off one
    (argparse otherwise wraps at COLUMNS and splits long names such as environment
    variables across lines)."""

    def __init__(self, prog, **kw):
        if not sys.stdout.isatty():
            kw["width"] = PIPE_WIDTH
            kw.setdefault("max_help_position", 40)
        super().__init__(prog, **kw)
