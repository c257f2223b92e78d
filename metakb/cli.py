"""The ``metakb`` command: parse arguments, call the library, present results.

Every failure metakb anticipates is a :class:`~metakb.errors.MetakbError`; it is
printed as one line on stderr and the command exits with status 1.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from metakb.errors import MetakbError
from metakb.store import Store

app = typer.Typer(
    name="metakb",
    help="A meta-learning warm-start knowledge base for hyperparameter optimization.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
ingest_app = typer.Typer(help="Add runs to the knowledge base.", no_args_is_help=True)
show_app = typer.Typer(help="Show one entity of the knowledge base.", no_args_is_help=True)
app.add_typer(ingest_app, name="ingest")
app.add_typer(show_app, name="show")

out = Console()
err = Console(stderr=True)

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="Knowledge base file [default: $METAKB_DB or data/metakb.duckdb]."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def _store(db: Path | None) -> Store:
    return Store(db)


def _print_json(obj: Any) -> None:
    # Plain stdout write: rich would wrap long lines and break the JSON.
    sys.stdout.write(json.dumps(obj, default=str) + "\n")


@contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Callable[[str, int, int], None]]:
    """Yield a ``(description, done, total)`` callback that drives a rich progress bar."""
    if not enabled:
        yield lambda description, done, total: None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True) as progress:
        bars: dict[str, Any] = {}

        def update(description: str, done: int, total: int) -> None:
            if description not in bars:
                bars[description] = progress.add_task(description, total=total)
            progress.update(bars[description], completed=done, total=total)

        yield update


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status instead of raising ``SystemExit``."""
    try:
        result = app(args=argv, standalone_mode=False)
    except MetakbError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        return 1
    except typer.Abort:
        err.print("aborted")
        return 130
    except KeyboardInterrupt:
        err.print("interrupted; what was committed is kept, rerun to continue")
        return 130
    except SystemExit as exc:
        return int(exc.code or 0) if isinstance(exc.code, int) else 1
    except Exception as exc:  # click's usage errors carry their own exit code
        code = getattr(exc, "exit_code", None)
        if code is not None:
            show = getattr(exc, "show", None)
            if callable(show):
                show()
            return int(code)
        raise
    # Without standalone mode click returns typer.Exit's code instead of exiting.
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    raise SystemExit(main())
