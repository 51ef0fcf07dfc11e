"""Source documents: discovery, reading every supported format, and metadata.

What lives where, from the bottom up (each module imports only those above it):

- ``ids``: ``doc_id_for``, the stable id of a corpus path.
- ``limits``: ``document_limit``, ``MAX_DOCUMENT_BYTES``, ``LIMIT_VARIABLE``; reading a
  file within the limit.
- ``encodings``: ``decode``, the bytes of a text file to text.
- ``sidecars``: ``read_metadata``, ``SIDECAR_SUFFIX``, ``KINDS``; the ``.meta.json`` next to
  a file.
- ``folders``: ``folder_defaults``, ``FOLDERS_FILE``; defaults for a folder's documents.
- ``discovery``: ``discover``, ``SUPPORTED_SUFFIXES``; the documents of a corpus folder.
- ``formats``: the txt, md, html, pdf and docx readers.
- ``boilerplate``: site chrome spans and the title of a document without a headline.
- ``loading``: ``Document``, ``load_document``, ``content_hash``; uses all of the above.

A document's date comes from ``qa.dates.infer_date``, which also reads questions' dates.
"""

from __future__ import annotations

from qa.dates import infer_date
from qa.documents.discovery import SUPPORTED_SUFFIXES, discover
from qa.documents.encodings import decode
from qa.documents.folders import FOLDERS_FILE, folder_defaults
from qa.documents.ids import doc_id_for
from qa.documents.limits import LIMIT_VARIABLE, MAX_DOCUMENT_BYTES, document_limit
from qa.documents.loading import Document, content_hash, load_document
from qa.documents.sidecars import KINDS, SIDECAR_SUFFIX, read_metadata

__all__ = [
    "Document",
    "SUPPORTED_SUFFIXES",
    "SIDECAR_SUFFIX",
    "KINDS",
    "FOLDERS_FILE",
    "folder_defaults",
    "MAX_DOCUMENT_BYTES",
    "LIMIT_VARIABLE",
    "document_limit",
    "discover",
    "doc_id_for",
    "load_document",
    "content_hash",
    "read_metadata",
    "infer_date",
    "decode",
]
