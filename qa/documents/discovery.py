"""Discovery: which files of a corpus folder are documents.

A corpus is a folder of ``.txt``, ``.md``, ``.html``/``.htm``, ``.pdf`` and ``.docx``
files, with subfolders.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from qa.documents._base import _shown
from qa.documents.sidecars import SIDECAR_SUFFIX
from qa.errors import IngestError

__all__ = ["SUPPORTED_SUFFIXES", "discover"]

SUPPORTED_SUFFIXES: frozenset[str] = frozenset({".txt", ".md", ".html", ".htm", ".pdf", ".docx"})


def discover(corpus: Path) -> list[Path]:
    """List every supported document under ``corpus``, recursively.

    Skipped: metadata sidecars, hidden files and folders (name starting with ``.``),
    Office lock files (``~$name.docx``), unsupported suffixes, broken symlinks and
    symlinks that resolve outside the corpus. A symlinked folder that points back at
    one of its own ancestors is not entered, so symlink loops end; a symlinked folder
    pointing elsewhere inside the corpus is walked, and its files are listed under
    both paths.

    Args:
        corpus: The corpus folder.

    Returns:
        Paths (``corpus / relative path``, symlinks not resolved) sorted by their
        posix path relative to ``corpus``.

    Raises:
        IngestError: ``corpus`` is not a folder or a folder in it cannot be listed.
    """
    root = Path(corpus)
    if not root.is_dir():
        raise IngestError(_shown(root), "corpus folder not found; pass an existing directory")
    real_root = root.resolve()
    found: list[tuple[str, Path]] = []
    # Each folder carries the real paths of its ancestors: entering one of them again
    # through a symlink is exactly what makes a loop.
    stack: list[tuple[Path, PurePosixPath, frozenset[Path]]] = [
        (root, PurePosixPath(), frozenset({real_root}))
    ]
    while stack:
        folder, rel, ancestors = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError as exc:
            raise IngestError(_shown(folder), f"cannot list folder ({exc.strerror})") from exc
        for entry in entries:
            if entry.name.startswith((".", "~$")):
                continue
            path = folder / entry.name
            if entry.is_symlink() and not _points_inside(path, real_root):
                continue
            if entry.is_dir():
                real = path.resolve()
                if real not in ancestors:
                    stack.append((path, rel / entry.name, ancestors | {real}))
            elif entry.is_file() and _is_document_name(entry.name):
                found.append(((rel / entry.name).as_posix(), path))
    found.sort(key=lambda item: item[0])
    return [path for _, path in found]


def _points_inside(link: Path, real_root: Path) -> bool:
    """Whether the symlink's target exists and lies inside the corpus."""
    try:
        target = link.resolve(strict=True)
    except (OSError, RuntimeError):  # broken link, or a loop that never resolves
        return False
    return target.is_relative_to(real_root)


def _is_document_name(name: str) -> bool:
    lowered = name.lower()
    if lowered.endswith(SIDECAR_SUFFIX):
        return False
    return PurePosixPath(lowered).suffix in SUPPORTED_SUFFIXES
