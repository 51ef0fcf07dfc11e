"""Cold start: how long `qa --help`, `qa search`, `qa ask` and the page take from nothing.

The seed document (``corpus/2022-01-06-tokayev-security-council-session.txt`` and its
sidecar) is copied into a temporary corpus and indexed once with ``qa index``. Then each
round runs, side by side, every measurement in a fresh process:

- ``python -c pass`` (starting the interpreter), ``qa --help`` and
  ``python -c "import qa.cli"``;
- ``qa docs`` (the index without the model), ``qa search``, ``qa ask`` and
  ``qa ask --fp32``, from invocation to exit;
- the ``qa ask`` path step by step in one child process: ``import qa.cli``,
  ``qa.index.Index.load``, ``qa.embedding.load_embedder``, the first
  ``qa.answer.answer`` (noting how many texts each of its embedding calls takes, and
  whether the embedder compiled its copy) and, for comparison, a second one; then the
  same steps once more under ``python -X importtime``, with an audit hook noting which
  line of ``qa/`` started each import;
- the model loaded and one query embedded, through ``load_embedder`` and, for
  comparison, through transformers' ``AutoModel`` with mean pooling;
- the page: ``streamlit run app.py`` on a free loopback port, timed until
  ``/_stcore/health`` answers ``ok``; then, in headless chromium driven by playwright,
  from the first navigation until the chat input is visible and enabled (the first
  script run loads the index and starts the model's warm-up in a background thread; how
  long the index's spinner was on screen meanwhile), from submitting the first question,
  as soon as the chat input is enabled, until its answer is shown (on a first visit this
  includes waiting for the model if the warm-up is still loading it), and a second
  browser session's load on the same server, whose index is then cached and model
  loaded.

Medians and maxima over ``--rounds`` go into the "coldstart" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import ROOT, write_section  # noqa: E402

SEED = ROOT / "corpus" / "2022-01-06-tokayev-security-council-session.txt"
QUESTION = "Who did Tokayev blame for the unrest?"
QUERY = "asking the Collective Security Treaty allies for help"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PLACEHOLDER = "Ask the documents…"
SPINNER = "Loading the index"  # qa.page.assistant's cache_resource spinner
PHASE_MARK = "coldstart-phase:"
# Libraries that `qa --help` has no use for; any of them showing up there is a regression.
HEAVY = ("numpy", "scipy", "sklearn", "pandas", "torch", "transformers",
         "sentence_transformers", "faiss", "bm25s", "streamlit", "pyarrow")


# -- the ask path, step by step (runs in a child process) ----------------------------------


def phases(corpus: Path, index_dir: Path, question: str, trace: bool) -> dict:
    """Time each step of ``qa ask`` in this fresh process, as ``qa ask`` takes them."""
    origins: dict[str, str] = {}
    if trace:
        qa_dir = str(ROOT / "qa") + os.sep

        def hook(event: str, args: tuple) -> None:
            # "import" is audited only when a module is not imported yet: its first import
            if event != "import" or args[0] in origins:
                return
            frame = sys._getframe(1)
            while frame is not None and not frame.f_code.co_filename.startswith(qa_dir):
                frame = frame.f_back
            if frame is not None:
                where = Path(frame.f_code.co_filename).relative_to(ROOT).as_posix()
                origins[args[0]] = f"{where}:{frame.f_lineno}"

        sys.addaudithook(hook)
    seconds: dict[str, float] = {}

    def step(name: str) -> float:
        if trace:
            print(f"{PHASE_MARK} {name}", file=sys.stderr, flush=True)
        return time.perf_counter()

    started = step("import qa.cli")
    import qa.cli  # noqa: F401  (what the `qa` command imports before it parses arguments)
    from qa.config import Settings

    seconds["import qa.cli"] = time.perf_counter() - started
    settings = Settings.from_env(corpus=corpus, index=index_dir)

    started = step("Index.load")
    from qa.index import Index

    index = Index.load(settings.index, model=settings.model)
    seconds["Index.load"] = time.perf_counter() - started

    started = step("load_embedder")
    from qa.embedding import load_embedder

    embedder = load_embedder(settings.model, settings.precision)
    seconds["load_embedder"] = time.perf_counter() - started

    calls: list[int] = []  # texts per embedding call of the first answer
    embed = embedder.embed

    def counted(texts, **kwargs):
        calls.append(len(texts))
        return embed(texts, **kwargs)

    embedder.embed = counted
    started = step("first answer")
    from qa.answer import answer

    result = answer(index, embedder, question)
    seconds["first answer"] = time.perf_counter() - started
    embedder.embed = embed
    embeds = {"calls": calls, "bf16": bool(getattr(embedder, "bf16", False)),
              "copied": getattr(embedder, "_compiled", None) is not None}

    started = step("second answer")
    answer(index, embedder, question)
    seconds["second answer"] = time.perf_counter() - started
    step("end")
    return {"seconds": seconds, "answer": result.answer, "origins": origins,
            "embeds": embeds}


def model_only(kind: str) -> None:
    """Load the model and embed one query: through qa, or through transformers directly.

    all-MiniLM-L6-v2 is a BERT encoder followed by mean pooling and normalisation, which
    is all the direct path does; it gives the same vector.
    """
    if kind == "qa":
        from qa.embedding import load_embedder

        print(json.dumps(load_embedder().embed([QUESTION])[0].tolist()))
        return
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch
    from transformers import AutoModel, AutoTokenizer

    from qa.embedding import DEFAULT_MODEL, model_location

    location = model_location(DEFAULT_MODEL)
    tokenizer = AutoTokenizer.from_pretrained(location)
    model = AutoModel.from_pretrained(location).eval()
    with torch.inference_mode():
        batch = tokenizer([QUESTION], padding=True, truncation=True, return_tensors="pt")
        hidden = model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        vector = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=1)
    print(json.dumps(vector[0].tolist()))


# -- import-time trees -----------------------------------------------------------------------


def parse_importtime(stderr: str) -> list[dict]:
    """Rows of ``-X importtime`` output in order, with depth, parent and phase."""
    rows: list[dict] = []
    phase = "interpreter start"
    stack: list[int] = []  # rows still waiting for their parent (printed after them)
    for line in stderr.splitlines():
        if line.startswith(PHASE_MARK):
            phase = line[len(PHASE_MARK):].strip()
            continue
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S+)", line)
        if not m:
            continue
        row = {"name": m[4], "self": int(m[1]) / 1000, "cum": int(m[2]) / 1000,
               "depth": len(m[3]) // 2, "phase": phase, "parent": None}
        i = len(rows)
        while stack and rows[stack[-1]]["depth"] > row["depth"]:
            rows[stack.pop()]["parent"] = i
        stack.append(i)
        rows.append(row)
    return rows


def _package(name: str) -> str:
    return name.split(".")[0]


def foreign_parts(rows: list[dict], top: int) -> list[tuple[str, float]]:
    """Other packages that row ``top``'s own package imports directly, by cumulative ms."""
    own = _package(rows[top]["name"])
    totals: dict[str, float] = {}
    for row in rows[:top]:
        pkg = _package(row["name"])
        if pkg == own:
            continue
        j, inside = row["parent"], True
        while j is not None and j != top:
            if _package(rows[j]["name"]) != own:
                inside = False  # reached through another foreign package: counted there
                break
            j = rows[j]["parent"]
        if inside and j == top:
            totals[pkg] = totals.get(pkg, 0.0) + row["cum"]
    return sorted(totals.items(), key=lambda kv: -kv[1])


def chain(rows: list[dict], name: str) -> list[str]:
    """``name`` and the modules that imported it, innermost first."""
    for row in rows:
        if row["name"] == name:
            out, j = [name], row["parent"]
            while j is not None:
                out.append(rows[j]["name"])
                j = rows[j]["parent"]
            return out
    return []


def cum_ms(runs: list[list[dict]], name: str) -> float:
    """Median cumulative ms of ``name`` over importtime runs (0 where it was not imported)."""
    return statistics.median(next((r["cum"] for r in rows if r["name"] == name), 0.0)
                             for rows in runs)


# -- fresh processes ---------------------------------------------------------------------------


def run(cmd: list[str]) -> tuple[float, str]:
    """Wall seconds of ``cmd`` in a fresh process, and its output."""
    started = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - started
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stderr[-2000:]}")
    return seconds, out.stdout


def wall(cmd: list[str]) -> float:
    return run(cmd)[0]


def qa_command() -> list[str]:
    script = Path(sys.executable).with_name("qa")
    return [str(script)] if script.exists() else [sys.executable, "-m", "qa"]


def phases_child(corpus: Path, index_dir: Path, trace: bool) -> tuple[dict, str, float]:
    cmd = [sys.executable, *(["-X", "importtime"] if trace else []), __file__,
           "--phases", str(corpus), str(index_dir)] + (["--trace"] if trace else [])
    started = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - started
    if out.returncode != 0:
        sys.exit(f"the ask steps failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1]), out.stderr, seconds


# -- the page ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
            return r.status == 200 and r.read().strip() == b"ok"
    except (urllib.error.URLError, OSError):
        return False


def _interactive(page, started: float, timeout: float) -> dict:
    """Wait until the chat input is visible and enabled, watching the index's spinner.

    Returns seconds since ``started``: ``interactive``, and ``spinner on``/``spinner off``
    when the spinner of ``qa.page.assistant()`` was seen (Streamlit shows it once the
    cached call has run for half a second).
    """
    box = page.get_by_placeholder(PLACEHOLDER)
    spinner = page.get_by_text(SPINNER)
    seen: dict = {}
    while True:
        now = time.perf_counter() - started
        if spinner.count() and spinner.first.is_visible():
            seen.setdefault("spinner on", now)
        elif "spinner on" in seen:
            seen.setdefault("spinner off", now)
        if box.count() and box.first.is_visible() and box.first.is_enabled():
            if "spinner on" in seen:
                seen.setdefault("spinner off", now)
            return {**seen, "interactive": time.perf_counter() - started}
        if now > timeout:
            raise TimeoutError(f"the chat input did not appear within {timeout:.0f} s")
        page.wait_for_timeout(20)


def page_round(browser, env: dict, log: Path, expected: str) -> dict:
    """Start the page's server, load it twice and ask one question; seconds of each step."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
           "--server.port", str(port), "--server.address", "127.0.0.1",
           "--server.headless", "true", "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none"]
    result: dict = {}
    with open(log, "w") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        try:
            while not _healthy(url):
                if proc.poll() is not None or time.perf_counter() - started > 120:
                    raise RuntimeError(f"the page's server did not start: {log.read_text()[-1500:]}")
                time.sleep(0.05)
            result["health"] = time.perf_counter() - started

            first = browser.new_context(viewport={"width": 1280, "height": 900})
            page = first.new_page()
            started = time.perf_counter()
            page.goto(url)
            result["shell"] = time.perf_counter() - started
            result.update(_interactive(page, started, 300))

            box = page.get_by_placeholder(PLACEHOLDER)
            box.fill(QUESTION)
            started = time.perf_counter()
            box.press("Enter")
            page.get_by_text(expected).first.wait_for(timeout=300_000)
            result["answer"] = time.perf_counter() - started

            second = browser.new_context(viewport={"width": 1280, "height": 900})
            page = second.new_page()
            started = time.perf_counter()
            page.goto(url)
            result["second shell"] = time.perf_counter() - started
            again = _interactive(page, started, 300)
            result["second interactive"] = again["interactive"]
            result["second spinner"] = "spinner on" in again
            first.close()
            second.close()
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=20)
    return result


def visible_words(answer: str) -> str:
    """A run of plain words from the answer that the page shows as they are."""
    runs = re.findall(r"[A-Za-z]+(?: [A-Za-z]+){3,}", answer)
    return max(runs, key=len)[:60] if runs else answer[:30]


# -- the report ------------------------------------------------------------------------------------

MEASURES = {  # key: (row label, what it includes)
    "pass": ("`python -c pass`", "starting the interpreter"),
    "help": ("`qa --help`", "the console script, click, `qa.cli`"),
    "import": ('`python -c "import qa.cli"`', "the interpreter and `qa.cli`"),
    "docs": ("`qa docs`", "`Index.load`, no model"),
    "search": ("`qa search` (invocation to exit)", "index, model, one hybrid search"),
    "ask": ("`qa ask` (invocation to exit)", "index, model, one answer"),
    "ask fp32": ("`qa ask --fp32` (invocation to exit)", "the same in PyTorch fp32 throughout"),
    "import qa.cli": ("· `import qa.cli`", "in the child, after its own start"),
    "Index.load": ("· `Index.load`", "imports (bm25s, faiss) and opening the index files"),
    "load_embedder": ("· `load_embedder()`", "imports (torch, sentence-transformers), weights"),
    "first answer": ("· first `answer()`", "retrieval, sentence embeddings, first forward passes"),
    "second answer": ("· second `answer()`", "the same question again: sentences cached"),
    "child": ("· the child (invocation to exit)", "all the steps above in one process"),
    "model qa": ("model via `load_embedder()` + one query", "process start to one vector"),
    "model transformers": ("model via transformers `AutoModel` + one query",
                           "the same vector without sentence-transformers"),
    "health": ("page: server start → `/_stcore/health` ok", "`streamlit run app.py`"),
    "shell": ("page: first navigation → page loaded", "HTML and scripts (`page.goto`)"),
    "interactive": ("page: first navigation → chat input enabled",
                    "first script run: the index; the model loads in the background"),
    "spinner": ("page: index spinner on screen", "part of the row above"),
    "answer": ("page: first question submitted → answer shown",
               f"“{QUESTION}”, asked as soon as the chat input is enabled"),
    "second shell": ("page: second session → page loaded", "new browser session"),
    "second interactive": ("page: second session → chat input enabled",
                           "index cached, model loaded in the server"),
}


def fmt(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def listed(items: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return " and ".join([", ".join(items[:-1]), items[-1]] if len(items) > 1 else items)


def compare(new: float, old: float) -> str:
    """``new`` against ``old`` in words, saying which way the difference goes."""
    if new < old:
        return f"{fmt(new)}, {fmt(old - new)} less than the {fmt(old)}"
    return f"{fmt(new)}, no less than the {fmt(old)} in this run"


def import_table(traces: list[tuple[list[dict], dict]]) -> str:
    """The ten most expensive imports of the ``qa ask`` steps, each counted once; medians."""
    found: dict[str, dict] = {}
    for rows, traced in traces:
        for i, r in enumerate(rows):
            if r["depth"] != 0 or r["phase"] == "interpreter start":
                continue
            entry = found.setdefault(r["name"], {
                "phase": r["phase"], "cum": [], "parts": {},
                "origin": traced["origins"].get(r["name"], "the step itself")})
            entry["cum"].append(r["cum"])
            for pkg, ms in foreign_parts(rows, i):
                entry["parts"].setdefault(pkg, []).append(ms)
    for entry in found.values():
        entry["median"] = statistics.median(entry["cum"])
        entry["parts"] = sorted(((pkg, statistics.median(v)) for pkg, v in entry["parts"].items()),
                                key=lambda kv: -kv[1])
    lines = ["| module | cumulative ms | step | imported at | largest other packages inside (ms) |",
             "|---|---|---|---|---|"]
    for name, e in sorted(found.items(), key=lambda kv: -kv[1]["median"])[:10]:
        parts = ", ".join(f"{pkg} {ms:.0f}" for pkg, ms in e["parts"][:3]) or "—"
        lines.append(f"| `{name}` | {e['median']:.0f} | {e['phase']} | {e['origin']} | {parts} |")
    return "\n".join(lines)


def report(times: dict[str, list[float]], traces: list[tuple[list[dict], dict]],
           help_rows: list[dict], rounds: int, page_note: str, load: str,
           cosine: float, embeds: list[dict]) -> str:
    med = {k: statistics.median(v) for k, v in times.items()}
    table = ["| measurement | median | max | what it includes |", "|---|---|---|---|"]
    for key, values in times.items():
        label, note = MEASURES[key]
        table.append(f"| {label} | **{fmt(med[key])}** | {fmt(max(values))} | {note} |")

    runs = [rows for rows, _ in traces]
    names = list(traces[0][1]["seconds"])
    imports, step_seconds = {}, {}  # medians over the importtime runs, per step
    for name in names:
        imports[name] = statistics.median(
            sum(r["cum"] for r in rows if r["depth"] == 0 and r["phase"] == name) / 1000
            for rows in runs)
        step_seconds[name] = statistics.median(t["seconds"][name] for _, t in traces)
    steps = ", ".join(f"{name} {fmt(imports[name])} of {fmt(step_seconds[name])}"
                      for name in names)

    help_total = sum(r["cum"] for r in help_rows if r["depth"] == 0)
    help_heavy = sorted({_package(r["name"]) for r in help_rows} & set(HEAVY))
    help_third = sorted(p for p in {_package(r["name"]) for r in help_rows}
                        - set(sys.stdlib_module_names) - {"qa", "sitecustomize"}
                        if not p.startswith("_"))
    text = [
        f"**`qa --help`** takes {fmt(med['help'])}, against {fmt(med['pass'])} to start "
        f"Python and do nothing. It imports {len(help_rows)} modules in {help_total:.0f} ms; "
        f"the only third-party one is {', '.join(help_third) or 'none'}"
        + (f", and it also imports **{', '.join(help_heavy)}**, which it does not need."
           if help_heavy else ". There is nothing heavy left to cut there."),
    ]

    model_s, model_imports = step_seconds["load_embedder"], imports["load_embedder"]
    index_s, index_imports = step_seconds["Index.load"], imports["Index.load"]
    text.append(
        f"**`qa ask`** takes {fmt(med['ask'])} from invocation to exit, `qa search` "
        f"{fmt(med['search'])}. Most of it is loading the model: `load_embedder()` takes "
        f"{fmt(med['load_embedder'])}. Under importtime, {model_imports:.1f} s of its "
        f"{model_s:.1f} s were imports: torch {cum_ms(runs, 'torch') / 1000:.1f} s, then "
        f"sentence-transformers {cum_ms(runs, 'sentence_transformers') / 1000:.1f} s on top "
        "of it (mostly transformers' model-loading modules and scikit-learn); reading the "
        f"90 MB of weights is the rest. `Index.load` takes {fmt(med['Index.load'])}; under "
        f"importtime {index_imports:.2f} s of its {index_s:.2f} s went on importing bm25s (with "
        f"scipy.sparse, {cum_ms(runs, 'scipy.sparse'):.0f} ms) and faiss. The seed index is "
        "a few kilobytes, so memory-mapping its files cannot save anything measurable here. "
        "The BM25 matrix is memory-mapped already; the FAISS file is read whole "
        "(`faiss.read_index` without `IO_FLAG_MMAP`), which matters only for large indexes.")
    from qa.embedding import COMPILE_MIN_BATCH

    calls = embeds[0]["calls"]
    copied = sum(e["copied"] for e in embeds)
    first = (
        f"The first `answer()` takes {fmt(med['first answer'])}, the same question again "
        f"{fmt(med['second answer'])}: the first embeds every sentence of the retrieved "
        "passages (the second finds them in the sentence cache), in embedding calls of "
        f"{listed([str(n) for n in calls])} texts")
    if not embeds[0]["bf16"]:
        first += ", in float32: bf16 is off on this CPU."
    elif copied:
        first += (f"; in {copied} of {len(embeds)} runs the embedder compiled its copy of "
                  "the model for them.")
    else:
        first += (f", fewer than the {COMPILE_MIN_BATCH} that make the embedder compile "
                  f"its copy of the model, so they run in float32 and none of the "
                  f"{len(embeds)} runs made the copy.")
    gap = med["ask fp32"] - med["ask"]
    if abs(gap) <= 0.05 * med["ask"]:
        verdict = f"the same within {fmt(abs(gap))}"
    else:
        verdict = f"{fmt(abs(gap))} {'more' if gap > 0 else 'less'} in fp32"
    first += (f" `qa ask --fp32` takes {fmt(med['ask fp32'])} against {fmt(med['ask'])} "
              f"for `qa ask`: {verdict}.")
    text.append(first)

    cuts = []
    sklearn = chain(runs[0], "sklearn")
    if sklearn:
        importer = next(m for m in sklearn if _package(m) != "sklearn")
        cuts.append(
            f"`{importer}` imports scikit-learn, which brings scipy and pandas: "
            f"{cum_ms(runs, 'sklearn') / 1000:.1f} s under importtime, in every `qa ask`, "
            "`qa search` and page start, for similarity helpers qa never calls.")
    cuts.append(
        "From process start to one embedded query, loading all-MiniLM-L6-v2 through "
        "transformers directly (BERT, then mean pooling and normalisation; cosine "
        f"{cosine:.4f} to qa's vector) "
        f"takes {compare(med['model transformers'], med['model qa'])} through "
        "`load_embedder()`.")
    cuts.append(
        f"`qa docs` ({fmt(med['docs'])}) needs only the chunk store, but `Index.load` "
        "opens the BM25 and FAISS files, and imports their libraries, every time.")
    text.append("**What could be cut.** " + " ".join(cuts) + " qa itself already imports "
                "torch, faiss and bm25s only inside the functions that need them, and "
                "`qa --help` loads none of them.")
    if "interactive" in med:
        page = (
            f"**The page**: the server answers its health check {fmt(med['health'])} after "
            "it is started, before any qa code runs. In the first script run "
            "`qa.page.assistant()` loads only the index, then starts `Assistant.warm_up()` "
            "(the model and two warm-up embeddings, one of them "
            f"{COMPILE_MIN_BATCH} texts) in a background thread. The first visit waits "
            f"{fmt(med['interactive'])} for the chat input, {fmt(med['shell'])} of it "
            f"loading the page itself; {page_note}")
        page += (f", for {fmt(med['spinner'])} of that. " if med["spinner"] > 0 else ". ")
        gap = med["interactive"] - med["second interactive"]
        page += (f"A second browser session on the same server is interactive after "
                 f"{fmt(med['second interactive'])}, {fmt(med['second shell'])} of it "
                 "loading the page itself: ")
        if gap > 0.25 * med["interactive"]:
            page += f"{fmt(gap)} less than the first visit."
        elif -gap > 0.25 * med["interactive"]:
            page += (f"{fmt(-gap)} more than the first visit, most of it in loading the page "
                     f"({fmt(med['second shell'])} against {fmt(med['shell'])}): it comes while "
                     "the server is still answering the first session's question and "
                     "compiling the model in the warm-up thread.")
        else:
            page += "about as long as the first visit."
        wait = med["answer"] - med["first answer"]
        page += (f" The first question, submitted as soon as the chat input is enabled, is "
                 f"answered after {fmt(med['answer'])}, against {fmt(med['first answer'])} "
                 "for the first `answer()` of `qa ask` once its model is loaded")
        if wait > 1.0:
            page += (f": the {fmt(wait)} more is the wait for the model, which the warm-up "
                     "thread is still loading then (`load_embedder()` alone takes "
                     f"{fmt(med['load_embedder'])} in `qa ask`), and the warm-up's "
                     f"embeddings competing for the {os.cpu_count()} cores.")
        else:
            page += ": the model had loaded by the time it was asked."
        text.append(page)
    else:
        text.append(f"The page was not measured: {page_note}.")

    return f"""## Cold start

Each measurement in a fresh process, {rounds} rounds interleaved, on the seed document
(one document, 6 chunks) indexed into a temporary folder: medians and maxima. Rows
marked · are the steps of `qa ask`, timed inside one child process that takes them in
the same order. The machine was shared: {load}.

{chr(10).join(table)}

Each round also runs those steps once under `python -X importtime`, which slows imports
down somewhat. Imports per step, medians: {steps}. The ten most expensive imports, each
counted once (a module's time leaves out what was imported before it); "imported at" is
the line of `qa/` that started the import:

{import_table(traces)}

{(chr(10) * 2).join(text)}
"""


# -- main ---------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="fresh starts of each measurement")
    parser.add_argument("--no-page", action="store_true", help="skip the page measurements")
    parser.add_argument("--phases", nargs=2, type=Path, help=argparse.SUPPRESS)  # child
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model-only", choices=["qa", "transformers"], help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phases:
        print(json.dumps(phases(*args.phases, QUESTION, args.trace)))
        return
    if args.model_only:
        model_only(args.model_only)
        return

    page_skipped = None
    if args.no_page:
        page_skipped = "--no-page was given"
    elif not Path(CHROMIUM).exists():
        page_skipped = f"chromium is not installed ({CHROMIUM})"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            page_skipped = "playwright is not installed"

    load_before = os.getloadavg()[0]
    tmp = Path(tempfile.mkdtemp(prefix="qa-coldstart-"))
    try:
        corpus, index_dir = tmp / "corpus", tmp / "index"
        corpus.mkdir()
        for src in (SEED, SEED.with_name(SEED.name + ".meta.json")):
            shutil.copy(src, corpus / src.name)
        qa = qa_command()
        paths = ["--corpus", str(corpus), "--index", str(index_dir)]
        wall([*qa, "index", *paths])
        commands = {
            "pass": [sys.executable, "-c", "pass"],
            "help": [*qa, "--help"],
            "import": [sys.executable, "-c", "import qa.cli"],
            "docs": [*qa, "docs", *paths],
            "search": [*qa, "search", QUERY, *paths],
            "ask": [*qa, "ask", QUESTION, *paths],
            "ask fp32": [*qa, "ask", QUESTION, "--fp32", *paths],
        }
        steps = ["import qa.cli", "Index.load", "load_embedder", "first answer",
                 "second answer"]
        page_keys = ([] if page_skipped else
                     ["health", "shell", "interactive", "spinner", "answer", "second shell",
                      "second interactive"])
        models = {f"model {kind}": [sys.executable, __file__, "--model-only", kind]
                  for kind in ("qa", "transformers")}
        times: dict[str, list[float]] = {k: [] for k in [*commands, *steps, "child",
                                                         *models, *page_keys]}
        traces: list[tuple[list[dict], dict]] = []
        embeds: list[dict] = []  # the first answer's embedding calls, per untraced child
        vectors: dict[str, list[float]] = {}
        env = {**os.environ, "QA_CORPUS": str(corpus), "QA_INDEX": str(index_dir)}
        spinners: list[tuple[bool, bool]] = []
        expected = None
        with _browser(page_skipped) as browser:
            for round_ in range(args.rounds):
                for key, cmd in commands.items():
                    times[key].append(wall(cmd))
                result, _, seconds = phases_child(corpus, index_dir, trace=False)
                for s in steps:
                    times[s].append(result["seconds"][s])
                times["child"].append(seconds)
                embeds.append(result["embeds"])
                traced, stderr, _ = phases_child(corpus, index_dir, trace=True)
                traces.append((parse_importtime(stderr), traced))
                for key, cmd in models.items():
                    seconds, out = run(cmd)
                    times[key].append(seconds)
                    vectors[key] = json.loads(out.strip().splitlines()[-1])
                expected = expected or visible_words(result["answer"])
                if browser is not None:
                    page = page_round(browser, env, tmp / "streamlit.log", expected)
                    page["spinner"] = page.get("spinner off", 0.0) - page.get("spinner on", 0.0)
                    for key in page_keys:
                        times[key].append(page[key])
                    spinners.append(("spinner on" in page, page["second spinner"]))
                print(f"round {round_ + 1}: " + ", ".join(
                    f"{key} {fmt(v[-1])}" for key, v in times.items()), file=sys.stderr)

        script = qa[1:] if qa[0] == sys.executable else qa  # ["-m", "qa"] or the script
        help_out = subprocess.run([sys.executable, "-X", "importtime", *script, "--help"],
                                  capture_output=True, text=True, cwd=ROOT)
        help_rows = parse_importtime(help_out.stderr)
        if page_skipped:
            page_note = page_skipped
        else:
            page_note = (f"the spinner “{SPINNER}…” was on screen in "
                         f"{sum(a for a, _ in spinners)} of {len(spinners)} first visits "
                         f"(and {sum(b for _, b in spinners)} second ones)")
        load = (f"load average {load_before:.1f} at the start and "
                f"{os.getloadavg()[0]:.1f} at the end, on {os.cpu_count()} cores")
        cosine = sum(a * b for a, b in zip(*vectors.values(), strict=True))
        body = report(times, traces, help_rows, args.rounds, page_note, load, cosine, embeds)
        write_section("coldstart", body)
        print(body)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def _browser(skipped: str | None) -> Iterator:
    """Headless chromium for the page rounds, or None when the page is skipped."""
    if skipped:
        yield None
        return
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


if __name__ == "__main__":
    main()
