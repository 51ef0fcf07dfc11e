"""Run every benchmark script in turn; each rewrites its own section of docs/benchmarks.md."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The arguments docs/benchmarks.md was written with, where they differ from the defaults.
ARGS = {
    "bench_chunking.py": ["--docs", "1000"],
    "bench_paraphrase.py": ["--limit", "1000", "--wice-limit", "150"],
    "bench_squad.py": ["--limit", "400", "--check", "100"],
    "bench_wikiqa.py": ["--encoder-sample", "60"],
    "bench_throughput.py": ["--chunks", "1500", "--rounds", "2"],
}

for script in sorted(HERE.glob("bench_*.py")):
    print(f"== {script.name}", flush=True)
    subprocess.run([sys.executable, str(script), *ARGS.get(script.name, [])], check=True)
