"""Where text is printed: the width it must fit and whether it may be coloured.

The renderers draw into a string (the CLI echoes it), so rich cannot look at the terminal itself:
this module does, once, and hands them a console that respects it.
"""

from __future__ import annotations

import io
import os
import shutil
import sys

from rich.console import Console

#: Not a terminal and no $COLUMNS (a file, a pipe): a width that reads well in an editor or a pager.
PIPE_WIDTH = 100


def width() -> int:
    """The columns to fit: $COLUMNS when set, else the terminal's, else :data:`PIPE_WIDTH`."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if sys.stdout.isatty():
        return shutil.get_terminal_size((PIPE_WIDTH, 24)).columns
    return PIPE_WIDTH


def coloured() -> bool:
    """Colour only for a person at a terminal: never under NO_COLOR (no-color.org), always under FORCE_COLOR."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return sys.stdout.isatty()


def console(buffer: io.StringIO, columns: int | None = None) -> Console:
    """A console drawing into ``buffer`` at ``columns`` (default :func:`width`), coloured when :func:`coloured`."""
    colour = coloured()
    return Console(file=buffer, width=columns or width(), force_terminal=colour, no_color=not colour,
                   color_system="standard" if colour else None, highlight=False, emoji=False, soft_wrap=False)
