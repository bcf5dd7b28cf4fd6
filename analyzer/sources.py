"""Where log bytes come from: a local file or an object in object storage, behind one small interface.

``s3://``, ``gs://`` (``gcs://``), ``az://`` (``abfs://``) and ``https://`` (``http://``) paths are read
through fsspec, whose backends (s3fs, gcsfs, adlfs; aiohttp for https) are optional extras: the
default install reaches no network. Any other path is a local file, opened as it always was.

The interface, the same for both: :func:`list_logs` (the objects under a prefix), :func:`identity`
(size and the store's version of an object, without reading it), :func:`open_binary` (a seekable
stream) and :func:`read_range` (a few bytes, in one ranged request for an object).

Credentials are never crossover's: each backend finds them in its provider's usual chain
(environment, profile, instance metadata). A URL's user and query string (an https password, a
signed URL's signature, an Azure SAS token) are left out of every name crossover stores or prints
(:func:`name_of`); the whole URL is kept only in memory, to open the object.
"""

from __future__ import annotations

import gzip
import io
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .errors import MissingDependency

#: The schemes read through fsspec, and the extra that installs each one's backend.
EXTRAS = {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs", "az": "azure", "abfs": "azure", "abfss": "azure",
          "http": "https", "https": "https"}
#: Bytes fetched per request while streaming an object: large enough that a GB takes some hundred
#: requests, small enough that finding a line near an offset (a large file's pieces) fetches little.
BLOCK_BYTES = 8 * 1024 * 1024
#: Where a backend puts an object's version in what it lists: S3 and Azure an ETag, GCS a generation.
_VERSION_KEYS = ("generation", "ETag", "etag", "VersionId")
_TIME_KEYS = ("LastModified", "last_modified", "updated", "mtime", "Last-Modified")


def is_remote(path: object) -> bool:
    """A path to read through fsspec: a :class:`RemotePath`, or a string or path with a known scheme."""
    if isinstance(path, RemotePath):
        return True
    if not isinstance(path, str):
        return False
    match = re.match(r"([A-Za-z][A-Za-z0-9+.-]*)://", path)
    return bool(match) and match.group(1).lower() in EXTRAS


def name_of(path: object) -> str:
    """The name a file is stored and shown by: a local path as it always was, a URL without its user
    and query string (where credentials go)."""
    if not is_remote(path):
        return str(path)
    parts = urlsplit(str(path))
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def as_path(path: str | os.PathLike) -> Path | RemotePath:
    """A path given as text (on the command line, to a worker, from the ``files`` table) as the right kind."""
    return RemotePath(str(path)) if is_remote(str(path)) else Path(path)


@dataclass(frozen=True)
class Identity:
    """What says whether an object changed, without reading it: its size and its store's version of it."""

    size: int
    version: str | None  # None where the store gives none (an https server without an ETag): hashed each time
    mtime: float | None


class _Stat:
    """The part of :func:`os.stat`'s result the readers use, for an object."""

    def __init__(self, identity: Identity):
        self.st_size = identity.size
        self._mtime = identity.mtime

    @property
    def st_mtime(self) -> float:
        if self._mtime is None:
            raise OSError("the store gives no modification time")
        return self._mtime

    @property
    def st_mtime_ns(self) -> int:
        return int(self.st_mtime * 1_000_000_000)


class RemotePath:
    """An object in object storage, with the parts of :class:`pathlib.Path` the readers use.

    ``str()`` is the whole URL, to open it (a worker process is handed that); :func:`name_of` is
    what is stored and shown.
    """

    def __init__(self, url: str, info: dict[str, Any] | None = None):
        self.url = url
        self.name = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
        self.suffix = Path(self.name).suffix
        self._info = info

    def __str__(self) -> str:
        return self.url

    def __repr__(self) -> str:
        return f"RemotePath({name_of(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RemotePath) and other.url == self.url

    def __hash__(self) -> int:
        return hash(self.url)

    def __fspath__(self) -> str:
        # Code that only reads local files (sqlite3, open) fails on an object as on a file it cannot read.
        raise OSError(f"{name_of(self)}: an object in object storage, not a local file")

    def info(self) -> dict[str, Any]:
        """What the store says of the object (listed with it, else asked once)."""
        if self._info is None:
            fs, key = _filesystem(self.url)
            with _errors(self):
                self._info = fs.info(key)
            if self._info.get("type") == "directory":
                raise IsADirectoryError(f"{name_of(self)}: a prefix with no log objects, not an object")
        return self._info

    def resolve(self) -> RemotePath:
        """Itself: an object's URL is already absolute."""
        return self

    def exists(self) -> bool:
        """Whether the object can be found (and read)."""
        try:
            self.info()
        except OSError:
            return False
        return True

    is_file = exists

    def is_dir(self) -> bool:
        """Never: a prefix is listed by :func:`list_logs`, not walked."""
        return False

    def is_symlink(self) -> bool:
        """Never: object stores have no links."""
        return False

    def stat(self) -> _Stat:
        """Size and modification time, as :meth:`pathlib.Path.stat` gives them."""
        return _Stat(identity(self))


def identity(path: RemotePath) -> Identity:
    """An object's size, version and modification time, from its listing (no byte of it is read).

    Raises:
        OSError: the bucket or object does not exist, or access is denied.
    """
    info = path.info()
    version = next((str(info[k]) for k in _VERSION_KEYS if info.get(k) not in (None, "")), None)
    stamp = next((info[k] for k in _TIME_KEYS if info.get(k) is not None), None)
    if isinstance(stamp, str):
        try:
            stamp = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            stamp = None
    if isinstance(stamp, datetime):
        stamp = stamp.timestamp()
    return Identity(int(info.get("size") or 0), version, float(stamp) if isinstance(stamp, int | float) else None)


def list_logs(url: str, wanted) -> list[RemotePath]:
    """The objects to read for a URL: the object itself, or the objects under a prefix ``wanted`` takes
    (by name), in a stable order. A URL that cannot be listed (no such bucket, access denied) is
    returned as it is, so that reading it records why, and the run goes on with the rest."""
    fs, key = _filesystem(url)
    fs.invalidate_cache()  # a listing cached by an earlier run in this process may be stale
    given = RemotePath(url)
    try:
        with _errors(given):
            info = fs.info(key)
            if info.get("type") != "directory":
                return [RemotePath(url, info)]
            found = fs.find(key, detail=True)
    except OSError:
        return [given]
    scheme = urlsplit(url).scheme
    objects = [RemotePath(_url(fs, scheme, name), found[name]) for name in sorted(found)
               if found[name].get("type", "file") == "file"]
    chosen = [o for o in objects if wanted(o)]
    return chosen or [given]


def _url(fs, scheme: str, key: str) -> str:
    if "://" in key:
        return key
    return f"{scheme}://{key.lstrip('/')}" if scheme not in ("http", "https") else fs.unstrip_protocol(key)


def open_binary(path: Path | RemotePath, gunzip: bool = False):
    """A binary stream of a file or an object (decompressed as read, for gzip)."""
    if not isinstance(path, RemotePath):
        return gzip.open(path, "rb") if gunzip else open(path, "rb")
    fs, key = _filesystem(path.url)
    # The size known from the listing spares the request a backend makes to learn it.
    known = {"size": int(path._info["size"])} if path._info and path._info.get("size") is not None else {}
    with _errors(path):
        raw = fs.open(key, "rb", block_size=BLOCK_BYTES, cache_type="readahead", **known)
    stream = io.BufferedReader(_Guarded(raw, path), buffer_size=1 << 20)
    return _GzipClosing(stream) if gunzip else stream


def read_range(path: Path | RemotePath, start: int, end: int) -> bytes:
    """Bytes ``start`` to ``end`` of a file or an object (one ranged request for an object)."""
    if not isinstance(path, RemotePath):
        with open(path, "rb") as f:
            f.seek(start)
            return f.read(end - start)
    fs, key = _filesystem(path.url)
    with _errors(path):
        return fs.cat_file(key, start=start, end=end)


def read_text(source: str) -> str:
    """A whole small file or object as UTF-8 text (one logged request for ``crossover count``)."""
    if not is_remote(source):
        return Path(source).read_text(encoding="utf-8")
    with open_binary(RemotePath(source)) as f:
        return f.read().decode("utf-8")


class _GzipClosing(gzip.GzipFile):
    """A gzip stream over an object that closes the object's stream too (gzip leaves a given one open)."""

    def __init__(self, raw):
        super().__init__(fileobj=raw, mode="rb")
        self._raw = raw

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._raw.close()


class _Guarded(io.RawIOBase):
    """An object's stream whose failures are OSErrors naming the object (and never its credentials);
    buffered by :func:`open_binary` so that ``readline(limit)`` works as on a file."""

    def __init__(self, raw, path: RemotePath):
        super().__init__()
        self._raw, self._path = raw, path

    def readinto(self, buffer) -> int:
        with _errors(self._path):
            return self._raw.readinto(buffer)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._raw.seek(offset, whence)

    def tell(self) -> int:
        return self._raw.tell()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def close(self) -> None:
        self._raw.close()
        super().close()


class _errors:
    """Turn a backend's failure into an OSError that names the object by :func:`name_of` and carries
    no part of the URL it hides, whatever the backend raised (botocore, aiohttp and azure errors are
    not all OSErrors)."""

    def __init__(self, path: RemotePath):
        self.path = path

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, exc, tb) -> bool:
        if exc is None or not isinstance(exc, Exception):
            return False
        message = _scrub(str(exc) or type(exc).__name__, self.path.url)
        if isinstance(exc, FileNotFoundError):
            raise FileNotFoundError(f"no such bucket or object ({message})") from None
        if isinstance(exc, PermissionError):
            raise PermissionError(f"access denied ({message})") from None
        if isinstance(exc, OSError):
            raise OSError(message) from None
        raise OSError(f"{type(exc).__name__}: {message}") from None


def _scrub(message: str, url: str) -> str:
    parts = urlsplit(url)
    for secret in (url, parts.query, parts.password, parts.username):
        if secret:
            message = message.replace(secret, name_of(url) if secret == url else "***")
    return message


def filesystem(url: str):
    """The fsspec filesystem a URL is in (see :func:`_filesystem`): where shards and tables are written."""
    return _filesystem(url)[0]


def _filesystem(url: str):
    """The fsspec filesystem for a URL and the path within it; says which extra to install if its backend is not."""
    scheme = urlsplit(url).scheme.lower()
    try:
        import fsspec.core
    except ImportError:
        raise MissingDependency(f"{name_of(url)}: reading {scheme}:// paths needs fsspec: "
                                f"pip install 'crossover-analyzer[{EXTRAS[scheme]}]'") from None
    try:
        return fsspec.core.url_to_fs(url)
    except ImportError:
        raise MissingDependency(f"{name_of(url)}: reading {scheme}:// paths needs its fsspec backend: "
                                f"pip install 'crossover-analyzer[{EXTRAS[scheme]}]'") from None


__all__ = ["EXTRAS", "Identity", "RemotePath", "as_path", "filesystem", "identity", "is_remote", "list_logs",
           "name_of", "open_binary", "read_range", "read_text"]
