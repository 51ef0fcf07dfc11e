"""Load on the page: several browser sessions asking questions at once, for a fixed time.

Starts ``streamlit run app.py`` on a free loopback port over a temporary copy of the seed
corpus (indexed first with ``qa index``) and drives ``--sessions`` sessions, each its own
context in one headless chromium. Each session asks questions from ``QUESTIONS`` through
the chat input, one after another, and waits for the answer (cited sentences, or the
abstention) to appear; after ``--turns`` questions it reloads the page and starts a new
conversation, since every rerun redraws the whole conversation. It stops asking after
``--seconds`` and waits for the answers still coming.

Latency is from pressing Enter to the answer appearing in the page, so it includes the
rerun that redraws the page around it. An error is an answer that has not appeared within
``--timeout`` seconds, a Streamlit exception or an error message on the page.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.report import write_section  # noqa: E402

UNANSWERABLE = "Who won the 2018 football World Cup?"  # the seed does not say: abstains
QUESTIONS = (
    "Which allies did Kazakhstan ask for assistance?",
    "Who heads the counter-terrorism command?",
    "What did the terrorist gangs seize at the Almaty airport?",
    "Who attended the session of the Security Council?",
    "Where was the session of the Security Council held?",
    UNANSWERABLE,
)
PLACEHOLDER = "Ask the documents…"
SEED = ROOT / "corpus" / "2022-01-06-tokayev-security-council-session.txt"

# Resolves to null until the answer to question ``n`` (1-based) is on the page, then to
# "answer", "abstained", or "error: ..." when Streamlit shows an exception or an error.
ANSWERED = """([n, question]) => {
  const failed = document.querySelector('[data-testid="stException"]');
  if (failed) return 'error: exception: ' + failed.innerText.slice(0, 200);
  const messages = document.querySelectorAll('[data-testid="stChatMessage"]');
  if (messages.length < 2 * n) return null;
  const [asked, reply] = [messages[2 * n - 2], messages[2 * n - 1]];
  if (!asked.innerText.includes(question)) return null;
  if (!reply.querySelector('[data-testid="stChatMessageAvatarAssistant"]')) return null;
  const error = reply.querySelector('[data-testid="stAlertContentError"]');
  if (error) return 'error: ' + error.innerText.slice(0, 200);
  if (reply.querySelector('[data-testid="stAlertContentWarning"]')) return 'abstained';
  return reply.innerText.includes('[1]') ? 'answer' : null;
}"""


@dataclass
class Session:
    """What one session saw."""

    answers: list[tuple[str, str, float]] = field(default_factory=list)
    """(question, "answer" or "abstained", seconds until it appeared)"""
    errors: list[str] = field(default_factory=list)

    @property
    def latencies(self) -> list[float]:
        return [seconds for _, _, seconds in self.answers]

    @property
    def abstained(self) -> int:
        return sum(outcome == "abstained" for _, outcome, _ in self.answers)


@dataclass
class LoadResult:
    sessions: list[Session]
    seconds: float  # from the first question to the last answer
    load_before: float
    load_after: float

    @property
    def latencies(self) -> list[float]:
        return sorted(x for s in self.sessions for x in s.latencies)

    @property
    def answered(self) -> int:
        return len(self.latencies)

    @property
    def errors(self) -> list[str]:
        return [e for s in self.sessions for e in s.errors]

    def percentile(self, q: float) -> float:
        """The ``q``-th percentile of the latencies (nearest rank), 0 without answers."""
        values = self.latencies
        if not values:
            return 0.0
        return values[max(0, math.ceil(q / 100 * len(values)) - 1)]


async def _open(page, url: str, timeout: float) -> None:
    await page.goto(url)
    await page.get_by_placeholder(PLACEHOLDER).wait_for(timeout=timeout * 1000)


class Gate:
    """Holds every session until all have opened the page, then starts the clock."""

    def __init__(self, sessions: int) -> None:
        self.waiting = sessions
        self.all_open = asyncio.Event()
        self.go = asyncio.Event()
        self.stop_at = 0.0

    def arrive(self) -> None:
        self.waiting -= 1
        if self.waiting == 0:
            self.all_open.set()


async def _session(browser, url: str, n: int, gate: Gate, turns: int,
                   timeout: float) -> Session:
    result = Session()
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    arrived = False
    try:
        page = await context.new_page()
        await _open(page, url, timeout)
        gate.arrive()
        arrived = True
        await gate.go.wait()
        asked, i = 0, n  # sessions start at different questions
        while time.monotonic() < gate.stop_at:
            if asked == turns:
                await _open(page, url, timeout)
                asked = 0
            question = QUESTIONS[i % len(QUESTIONS)]
            i += 1
            box = page.get_by_placeholder(PLACEHOLDER)
            await box.fill(question)
            started = time.perf_counter()
            await box.press("Enter")
            asked += 1
            try:
                handle = await page.wait_for_function(ANSWERED, arg=[asked, question],
                                                      timeout=timeout * 1000, polling=50)
                outcome = await handle.json_value()
            except Exception as e:  # playwright's TimeoutError, or the page went away
                outcome = f"error: no answer within {timeout:.0f} s ({type(e).__name__})"
            if outcome.startswith("error"):
                result.errors.append(f"{question!r}: {outcome}")
                await _open(page, url, timeout)  # go on with a fresh conversation
                asked = 0
                continue
            result.answers.append((question, outcome, time.perf_counter() - started))
    except Exception as e:
        result.errors.append(f"session {n} stopped: {type(e).__name__}: {e}")
        if not arrived:
            gate.arrive()
    finally:
        await context.close()
    return result


async def _drive(url: str, sessions: int, seconds: float, turns: int,
                 timeout: float) -> tuple[list[Session], float]:
    from playwright.async_api import async_playwright

    from tests._server import CHROMIUM, FLAGS

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            warm = await browser.new_page()  # the first view loads the model and index
            await _open(warm, url, timeout=300)
            await warm.close()
            gate = Gate(sessions)
            tasks = [asyncio.create_task(_session(browser, url, n, gate, turns, timeout))
                     for n in range(sessions)]
            await gate.all_open.wait()
            began = time.monotonic()
            gate.stop_at = began + seconds
            gate.go.set()
            results = await asyncio.gather(*tasks)
            return list(results), time.monotonic() - began
        finally:
            await browser.close()


def run_load(url: str, *, sessions: int = 4, seconds: float = 60, turns: int = 5,
             timeout: float = 60) -> LoadResult:
    """Drive ``sessions`` browser sessions against the page at ``url`` for ``seconds``."""
    before = os.getloadavg()[0]
    results, elapsed = asyncio.run(_drive(url, sessions, seconds, turns, timeout))
    return LoadResult(results, elapsed, before, os.getloadavg()[0])


def report(result: LoadResult, turns: int) -> str:
    n = len(result.sessions)
    per_session = ", ".join(str(len(s.latencies)) for s in result.sessions)
    errors = result.errors
    rows = [
        "| sessions | duration s | answers (abstentions) | answers/s | p50 latency s | "
        "p95 latency s | max s | errors |",
        "|---|---|---|---|---|---|---|---|",
        f"| {n} | {result.seconds:.0f} | {result.answered} "
        f"({sum(s.abstained for s in result.sessions)}) | "
        f"{result.answered / result.seconds:.2f} | {result.percentile(50):.2f} | "
        f"**{result.percentile(95):.2f}** | {max(result.latencies, default=0):.2f} | "
        f"{len(errors)} |",
    ]
    mean = statistics.fmean(result.latencies) if result.latencies else 0.0
    listed = "".join(f"\n- {e}" for e in errors[:10])
    return f"""## Load: concurrent sessions on the page

{n} sessions, each its own browser context in one headless chromium, ask questions in
turn through the chat input of `streamlit run app.py` on loopback (the seed corpus, the
packaged model), each waiting for its answer before asking the next; a new conversation
every {turns} questions. One question in six is one the documents do not answer. Latency
runs from pressing Enter until the cited answer or the abstention is on the page, the
redrawn page included. Chromium and the server share the machine's {os.cpu_count()} cores,
with whatever else runs there: the load average (1 min) was {result.load_before:.1f} before
the run and {result.load_after:.1f} at its end.

{chr(10).join(rows)}

Answers per session: {per_session}; mean latency {mean:.2f} s.{listed}
"""


def main() -> None:
    from tests._server import CHROMIUM, streamlit_server

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=60, help="how long questions are asked")
    parser.add_argument("--turns", type=int, default=5, help="questions per conversation")
    parser.add_argument("--timeout", type=float, default=60, help="seconds to wait for an answer")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"chromium not found at {CHROMIUM}; the load benchmark needs it.", file=sys.stderr)
        return
    with tempfile.TemporaryDirectory(prefix="qa-load-") as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        for src in (SEED, SEED.with_name(SEED.name + ".meta.json")):
            shutil.copy(src, corpus / src.name)
        with streamlit_server(corpus, Path(tmp) / "index") as url:
            result = run_load(url, sessions=args.sessions, seconds=args.seconds,
                              turns=args.turns, timeout=args.timeout)
    body = report(result, args.turns)
    write_section("load", body)
    print(body)


if __name__ == "__main__":
    main()
