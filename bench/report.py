"""Writing benchmark results into docs/benchmarks.md.

Each script owns one section, fenced by ``<!-- bench:NAME -->`` markers, and replaces
only that section, so scripts can run alone or all together (``make bench``). Every
section states the command that produced it, the machine and the date.
"""

from __future__ import annotations

import os
import platform
import re
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "benchmarks.md"
SHARED = Path(os.environ.get("QA_BENCH_DATA", ROOT.parent / "shared" / "bench-data"))

HEADER = """# Benchmarks

Every number here is written by a script in `bench/`; `make bench` runs them all.
The machine is shared and noisy, so comparisons are made side by side in one run.
"""


def machine() -> str:
    flags = ""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        model = re.search(r"model name\s*:\s*(.*)", cpuinfo)
        wanted = ("avx512f", "avx512_bf16", "amx_bf16", "amx_tile")
        have = [f for f in wanted if re.search(rf"\b{f}\b", cpuinfo)]
        flags = f"{model.group(1).strip() if model else platform.processor()}, {', '.join(have)}"
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {flags}; Python {platform.python_version()}"


def write_section(name: str, body: str, command: str | None = None) -> None:
    """Replace section ``name`` of docs/benchmarks.md with ``body``."""
    command = command or "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]])
    stamp = f"_Command: `{command}` · machine: {machine()} · date: {date.today()}_\n\n"
    block = f"<!-- bench:{name} -->\n{stamp}{body.strip()}\n<!-- /bench:{name} -->"
    text = REPORT.read_text(encoding="utf-8") if REPORT.exists() else HEADER
    pattern = re.compile(rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->",
                         re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else f"{text}\n{block}\n"
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(text, encoding="utf-8")


def require_data(*parts: str) -> Path:
    """The shared benchmark data folder, or exit with a one-line message."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        sys.exit(f"Benchmark data not found at {path}. Set QA_BENCH_DATA to the bench-data folder.")
    return path
