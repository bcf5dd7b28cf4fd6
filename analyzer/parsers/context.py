"""What a format may know beyond the record itself: the settings of one read and the registry.

A format's ``detect(data, ctx)`` and ``parse(record, ctx)`` take everything else from this context,
never from process-wide state, so reads with different settings (a ``--timezone``, a file time)
can run side by side in one process, and a container reaches the other formats without importing
the registry that imports it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any

from ..errors import BadRecord
from ..models import RawRecord, Request
from . import common

if TYPE_CHECKING:
    from . import Parsed, Registry


@dataclass
class ReadContext:
    """The settings of one read (one file), shared by every record in it."""

    registry: Registry
    naive_zone: tzinfo = UTC  # the zone of times logged without one (--timezone)
    file_time: datetime | None = None  # the file's modification time, UTC: dates what has no time
    # The last record's exchange: detect and then parse both unwrap the same record, and a wrapper
    # may hold its bodies as JSON strings, decoded once this way. Per read, so nothing outlives it.
    _last: tuple[Any, common.Exchange | None] = field(default=(None, None), repr=False, compare=False)

    def unwrap(self, data: Any) -> common.Exchange | None:
        """:func:`common.unwrap`, computed once per record."""
        if self._last[0] is not data:
            self._last = (data, common.unwrap(data))
        return self._last[1]

    def time(self, value: Any) -> datetime | None:
        """:func:`common.parse_time` with this read's zone for times logged without one."""
        return common.parse_time(value, self.naive_zone)

    def parse_inner(self, record: RawRecord, data: Any, container: str, what: str) -> Iterator[Parsed]:
        """Parse what a container record (a cassette interaction, an export row) holds, by its own format.

        Each request is stored as what it is, not as the container; ``what`` names the inner part in
        the reject when no format reads it.

        Raises:
            BadRecord: no format other than the container's reads ``data``.
        """
        fmt = self.registry.detect(data, self)
        if fmt is None or fmt.name == container:
            raise BadRecord(f"no supported format for {what}")
        for item in fmt.parse(RawRecord(record.path, record.line, data), self):
            if isinstance(item, Request):
                item.format = item.format or fmt.name
            yield item
