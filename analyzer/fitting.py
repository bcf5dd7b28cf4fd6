"""Tables that fit the terminal: figures, dates and headers whole, prose wrapped, the rest left out and named.

Rich, short of room, shrinks every column alike and cuts figures and headers ("templat…",
"2026-10…"). Here each column says what it holds, the table takes columns in order while they fit,
one column may be squeezed (its lines cut with an ellipsis, as a label may be), and prose columns
wrap. With ``wide`` every column is kept and the table is as wide as it wants.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich import box
from rich.markup import escape
from rich.table import Table

GAP = 3  # between two columns of box.SIMPLE_HEAVY without edges: padding, separator, padding
PROSE_MIN = 20  # a prose column is never narrower than this (a few words a line)
SQUEEZE_MIN = 12  # nor is a squeezed one (a template id is 12 characters)


@dataclass
class Column:
    """One column: its header (lines split by a newline), its cells, and how it gives way when short of room."""

    header: str
    cells: list[str]
    right: bool = False  # figures line up on the right
    prose: bool = False  # wraps between words (long words fold)
    squeeze: bool = False  # cut with an ellipsis to the room left; at most one per table
    required: bool = False  # shown even when it does not fit

    def need(self) -> int:
        """The fewest characters this column takes without cutting anything it must not cut."""
        header = max(len(line) for line in self.header.split("\n"))
        if self.prose:
            return max(header, PROSE_MIN)
        if self.squeeze:
            return max(header, SQUEEZE_MIN)
        return max([header, *(len(line) for c in self.cells for line in c.split("\n"))])

    def want(self) -> int:
        """The characters it takes with nothing wrapped or cut."""
        return max([len(line) for c in [self.header, *self.cells] for line in c.split("\n")])


def _cut(text: str, width: int) -> str:
    return "\n".join(line if len(line) <= width else line[: width - 1] + "…" for line in text.split("\n"))


def fit(columns: list[Column], width: int, wide: bool = False, title: str | None = None,
        indent: int = 0) -> tuple[Table, list[str], int]:
    """The table of ``columns`` fitted to ``width`` (less ``indent``); the headers left out; the width it takes."""
    room = width - indent
    shown: list[Column] = []
    used = 0
    # An empty column says nothing: it takes room only after every column that holds something.
    for column in sorted(columns, key=lambda c: not any(c.cells)):
        extra = column.need() + (GAP if shown else 0)
        if wide or column.required or used + extra <= room:
            shown.append(column)
            used += extra
    left = room - used
    squeezed = {}
    for column in shown:
        if column.squeeze:
            fitted = max(column.need(), min(column.want(), column.need() + left))
            squeezed[id(column)] = column.want() if wide else fitted
            left -= squeezed[id(column)] - column.need()
    shown.sort(key=lambda c: next(i for i, x in enumerate(columns) if x is c))
    table = Table(title=escape(title) if title else None, box=box.SIMPLE_HEAVY, show_edge=False, pad_edge=False)
    for column in shown:
        header = escape(column.header)
        justify = "right" if column.right else "left"
        if column.prose:
            table.add_column(header, justify=justify, overflow="fold", min_width=column.need())
        elif column.squeeze:
            table.add_column(header, justify=justify, no_wrap=True, width=squeezed[id(column)])
        else:
            table.add_column(header, justify=justify, no_wrap=True, min_width=column.need())
    for i in range(len(columns[0].cells) if columns else 0):
        table.add_row(*(escape(_cut(c.cells[i], squeezed[id(c)]) if c.squeeze else c.cells[i]) for c in shown))
    taken = sum(c.want() for c in shown) + GAP * (len(shown) - 1) if wide else room
    hidden = [c.header.replace("\n", " ") for c in columns if all(c is not s for s in shown)]
    return table, hidden, max(taken + indent, width)
