"""The ``qa`` command line. Errors from the library become one line on stderr here."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from qa import __version__
from qa.errors import QAError

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
                     help="Run the model in float32 even where bfloat16 is fast."),
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
def search(query, k, corpus, index_dir, model, fp32, as_json):
    """Show the passages that best match QUERY.

    \b
    Examples:
      qa search "who asked the CSTO for help"
      qa search Almaty -k 3 --json
    """
    qa = _assistant(corpus, index_dir, model, fp32)
    passages = qa.search(query, k)
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
@_common
def show(doc_id, corpus, index_dir, model, fp32, as_json):
    """Print the stored text of a document (every offset points into it).

    DOC_ID may be the id shown by `qa docs`, a unique prefix of it, or the file's path
    relative to the corpus.
    """
    qa = _assistant(corpus, index_dir, model, fp32)
    doc = qa.document(doc_id)
    if as_json:
        _emit({"doc_id": doc.doc_id, "path": doc.path, "title": doc.title, "date": doc.date,
               "source": doc.source, "sha256": doc.sha256, "text": doc.text})
        return
    click.echo(f"{doc.title}\n{doc.date or 'undated'} · {doc.source or doc.path}\n")
    click.echo(doc.text)


def main() -> None:
    """Entry point: run the CLI, turning qa's errors into one line and exit code 1."""
    try:
        code = cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except QAError as e:
        click.echo(f"Error: {e}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
