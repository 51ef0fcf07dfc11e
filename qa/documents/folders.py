"""Folder defaults: metadata every document of a folder shares, from ``folders.toml``.

A corpus may hold a ``folders.toml`` at its top. Each table is a folder of the corpus
(its path relative to the corpus, ``"."`` for the corpus itself) and gives defaults for the
documents in it and in its subfolders; the most specific folder wins, and a document's own
sidecar overrides them all::

    ["news"]
    kind = "secondary"          # news reports that quote people

    ["akorda/speeches"]
    kind = "primary"
    speaker = "Kassym-Jomart Tokayev"

The keys are those of a sidecar (``qa.documents.sidecars``): ``kind``, ``speaker``,
``publisher``, ``source``.
"""

from __future__ import annotations

import threading
from pathlib import Path, PurePosixPath
from typing import Any

from qa.documents._base import _shown
from qa.documents.sidecars import check_metadata
from qa.errors import IngestError

__all__ = ["FOLDERS_FILE", "FOLDER_KEYS", "folder_defaults"]

FOLDERS_FILE = "folders.toml"
FOLDER_KEYS = ("kind", "speaker", "publisher", "source")

_CACHE: dict[Path, tuple[tuple[int, int], dict[str, dict[str, Any]]]] = {}
_LOCK = threading.Lock()


def folder_defaults(corpus: Path, relpath: str) -> dict[str, Any]:
    """The defaults ``folders.toml`` gives the document at ``relpath`` (may be empty).

    Raises:
        IngestError: ``folders.toml`` is not valid TOML, names a key it may not set, or
            gives one a value of the wrong type.
    """
    folders = _read(Path(corpus) / FOLDERS_FILE)
    found: dict[str, Any] = {}
    parents = [PurePosixPath(p).as_posix() for p in reversed(PurePosixPath(relpath).parents)]
    for folder in parents:  # "." first, the document's own folder last: it wins
        found.update(folders.get(folder, {}))
    return found


def _read(file: Path) -> dict[str, dict[str, Any]]:
    """The checked tables of ``file``, cached while its size and mtime stay the same."""
    import tomllib

    try:
        st = file.stat()
    except FileNotFoundError:
        return {}
    stamp = (st.st_size, st.st_mtime_ns)
    with _LOCK:
        cached = _CACHE.get(file)
    if cached and cached[0] == stamp:
        return cached[1]
    where = _shown(file)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise IngestError(where, f"cannot be read as UTF-8 TOML ({e}); fix it or delete it") from e
    folders = {}
    for folder, table in data.items():
        if not isinstance(table, dict):
            raise IngestError(where, f'{folder!r} must be a table like ["{folder}"] with '
                                     'kind = "secondary" under it')
        unknown = sorted(set(table) - set(FOLDER_KEYS))
        if unknown:
            raise IngestError(where, f"[{folder!r}] sets {', '.join(unknown)}; a folder may "
                                     f"set only {', '.join(FOLDER_KEYS)}")
        check_metadata(table, where)
        key = PurePosixPath(folder.strip("/") or ".").as_posix()
        folders[key] = dict(table)
    with _LOCK:
        _CACHE[file] = (stamp, folders)
    return folders
