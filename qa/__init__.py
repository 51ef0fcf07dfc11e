"""qa: questions and quote checks over a newsroom's documents, with exact citations."""

from __future__ import annotations

__version__ = "0.1.0"
