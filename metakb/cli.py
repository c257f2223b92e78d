"""The ``metakb`` command: parse arguments, call the library, present results.

Every failure metakb anticipates is a :class:`~metakb.errors.MetakbError`; it is
printed as one line on stderr and the command exits with status 1 (2 for a
:class:`~metakb.errors.UsageError`, as for click's own usage errors). Ctrl-C
during a command that keeps its work says what was kept and the command that
continues it, and exits with status 130.

Nothing heavy (NumPy, pandas, scikit-learn, LightGBM, DuckDB) is imported at
module level: commands import what they use, so a usage error returns at once.
"""

from __future__ import annotations

import json
import math
import os
import shlex
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from metakb.errors import MetakbError, SearchExistsError, SearchInterrupted, UsageError

if TYPE_CHECKING:
    from metakb.kb import KnowledgeBase, RecommendedConfig

app = typer.Typer(
    name="metakb",
    help="A meta-learning warm-start knowledge base for hyperparameter optimization.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain click help: rich markup would swallow every "[default: ...]" and
    # print flags as "--json <bool>".
    rich_markup_mode=None,
)
ingest_app = typer.Typer(
    help="Add runs to the knowledge base.", no_args_is_help=True, rich_markup_mode=None
)
show_app = typer.Typer(
    help="Show one entity of the knowledge base.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(ingest_app, name="ingest")
app.add_typer(show_app, name="show")


def _print_version(value: bool) -> None:
    if value:
        from metakb._version import __version__

        sys.stdout.write(f"metakb {__version__}\n")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Options of metakb itself, given before the command (the help is the app's)."""


out = Console(soft_wrap=True)
err = Console(stderr=True)

_DB = typer.Option(
    "--db", help="Knowledge base file [default: $METAKB_DB, else data/metakb.duckdb here]."
)
DbOption = Annotated[Path | None, _DB]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]

# The command line being run (set by `main`), for the command that continues it after Ctrl-C.
_ARGV: list[str] = []


def _kb(db: Path | None) -> KnowledgeBase:
    from metakb.kb import KnowledgeBase

    return KnowledgeBase(db)


# Options naming a registry's entries: their help lists the names, filled in by
# `_registry_help` only when help is shown (the registries take a second to import).
_ALGORITHM = typer.Option("--algorithm", "-a", help="The algorithm.")
_WARM_STARTER = typer.Option("--method", help="The meta-model.")
_OPTIMIZER = typer.Option("--method", help="The optimizer.")
_WARM_START = typer.Option("--warm-start", help="The meta-model that starts the search.")
_TRAIN_METHODS = typer.Option("--models", "-m", help="Methods to train [default: all].")
_TRAIN_ALGORITHMS = typer.Option("--algorithm", "-a", help="Algorithms [default: all with runs].")


_METRIC = typer.Option("--metric", help="The cross-validation metric.")
_RECOMMEND_METRIC = typer.Option("--metric", help="Learn from runs scored by this metric only.")


def _registry_help() -> None:
    from metakb.models import DEFAULT_RECOMMENDER, DEFAULT_WARM_STARTER, WARM_STARTERS
    from metakb.search import DEFAULT_METRIC, DEFAULT_OPTIMIZER, OPTIMIZERS, TASK_METRICS
    from metakb.spaces import DEFAULT_ALGORITHM, SPACES
    from metakb.store import default_db_path

    def names(registry: Any, extra: tuple[str, ...] = ()) -> str:
        return ", ".join([*registry, *extra])

    # Round brackets: rich would read "[default: x]" as markup and drop it.
    _ALGORITHM.help = f"{names(SPACES)} (default: {DEFAULT_ALGORITHM})."
    _WARM_STARTER.help = f"{names(WARM_STARTERS)} (default: {DEFAULT_RECOMMENDER})."
    _OPTIMIZER.help = f"{names(OPTIMIZERS)} (default: {DEFAULT_OPTIMIZER})."
    _WARM_START.help = f"{names(WARM_STARTERS, ('none',))} (default: {DEFAULT_WARM_STARTER})."
    _TRAIN_METHODS.help = f"Methods to train: {names(WARM_STARTERS)} (default: all)."
    _TRAIN_ALGORITHMS.help = f"Algorithms: {names(SPACES)} (default: all with runs)."
    _METRIC.help = "; ".join(
        f"{kind}: {names(metrics)} (default: {DEFAULT_METRIC[kind]})"
        for kind, metrics in TASK_METRICS.items()
    )
    _RECOMMEND_METRIC.help = (
        "Learn from runs scored by this metric only: "
        + "; ".join(f"{kind}: {names(metrics)}" for kind, metrics in TASK_METRICS.items())
        + " (default: each task's own, as train learns; another is fitted now)."
    )
    where = "from $METAKB_DB" if os.environ.get("METAKB_DB") else "set $METAKB_DB to change it"
    _DB.help = f"Knowledge base file [default: {default_db_path().resolve()}; {where}]."


def _print_json(obj: Any) -> None:
    # Plain stdout write: rich would wrap long lines and break the JSON.
    sys.stdout.write(json.dumps(obj, default=str) + "\n")


def _continue_command(add: str | None = None, drop: Sequence[str] = ()) -> str:
    """Return the command being run as a shell line, with ``add`` (once), without ``drop``."""
    args = [a for a in _ARGV if a not in drop]
    if add is not None and add not in args:
        args.append(add)
    return shlex.join(["metakb", *args])


def _interrupted(saved: str, command: str) -> NoReturn:
    """Say what an interrupted command kept and how to continue it; exit with status 130."""
    err.print(
        f"interrupted: {saved}; to continue: {command}",
        markup=False,
        highlight=False,
        soft_wrap=True,  # one line, so the command pastes
    )
    raise typer.Exit(130)


@contextmanager
def _on_interrupt(saved: str, add: str | None = None) -> Iterator[None]:
    """On Ctrl-C inside, say ``saved`` and the command (with ``add``) that continues."""
    try:
        yield
    except KeyboardInterrupt:
        _interrupted(saved, _continue_command(add))


def _rich_progress() -> Progress:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    return Progress(*columns, console=err, transient=True)


@contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Callable[[str, int, int], None]]:
    """Yield a ``(description, done, total)`` callback that drives a rich progress bar."""
    if not enabled:
        yield lambda description, done, total: None
        return
    with _rich_progress() as progress:
        bars: dict[str, Any] = {}

        def update(description: str, done: int, total: int) -> None:
            if description not in bars:
                bars[description] = progress.add_task(description, total=total)
            progress.update(bars[description], completed=done, total=total)

        yield update


# --- knowledge base: import, inspect -------------------------------------------------


@ingest_app.command("published")
def ingest_published(
    data_dir: Annotated[
        Path | None,
        typer.Argument(
            metavar="DIR",
            help="Published data folder (default: $METAKB_DATA; without one, only the "
            "shipped meta-dataset).",
        ),
    ] = None,
    source: Annotated[
        list[str] | None,
        typer.Option(
            "--source",
            help="Import only these sub-folders (repeatable; default: all); 'metadataset' is "
            "the shipped one.",
        ),
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import the published OpenML meta-datasets (OpenML100 runs, TabRepo, PMLB).

    Then the meta-dataset metakb ships (its own sweep's results), if the
    installation has one.
    """
    kb = _kb(db)
    with (
        _on_interrupt(f"each imported file is committed to {kb.path}"),
        progress_bar(not as_json) as progress,
    ):
        summary = kb.ingest_published(data_dir, sources=source, progress=progress)
    if as_json:
        _print_json(
            {
                "data_dir": summary.data_dir,
                "seconds": summary.seconds,
                "added": summary.added(),
                "skipped_sources": summary.skipped_sources,
                "files": [vars(f) for f in summary.files],
            }
        )
        return
    table = Table(title=f"Imported from {summary.data_dir} in {summary.seconds:.1f} s")
    for column in ("file", "rows read", "rows added"):
        table.add_column(column, justify="left" if column == "file" else "right")
    for result in summary.files:
        table.add_row(
            f"{result.source}/{Path(result.file).name}",
            f"{result.rows:,}",
            f"{sum(result.added.values()):,}",
        )
    out.print(table)
    for skipped in summary.skipped_sources:
        out.print(f"[yellow]skipped[/yellow] {skipped}: not in {summary.data_dir}")
    out.print(_added_line(summary.added()))


def _added_line(added: dict[str, int]) -> str:
    parts = [f"{n:,} {table}" for table, n in added.items() if n]
    return (
        "added " + ", ".join(parts) if parts else "nothing new: the knowledge base already had it"
    )


@app.command()
def stats(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Show how much the knowledge base holds."""
    kb = _kb(db)
    result = kb.stats()
    if as_json:
        _print_json(result)
        return
    _print_stats(str(kb.path), result)


def _print_stats(path: str, result: dict[str, Any]) -> None:
    counts = ", ".join(
        f"{result[k]:,} {k}"
        for k in ("tasks", "datasets", "flows", "configs", "evaluations", "meta_features")
    )
    out.print(f"[bold]{path}[/bold]: {counts}")
    table = Table(title="Evaluations by flow")
    for column in ("source", "flow", "OpenML flow", "metric", "evaluations", "tasks"):
        table.add_column(column, justify="right" if column in ("evaluations", "tasks") else "left")
    for row in result["by_flow"]:
        table.add_row(
            row["source"],
            row["flow_id"],
            str(row["openml_flow_id"] or "-"),
            f"{row['metric']} ({row['direction'] or '?'})",
            f"{row['evaluations']:,}",
            f"{row['tasks']:,}",
        )
    out.print(table)


@app.command()
def tasks(
    flow: Annotated[
        str | None,
        typer.Option(
            "--flow",
            help="Only tasks evaluated with this flow: id, OpenML id or algorithm "
            "(default: every task).",
        ),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=0, help="Rows to print (0: all).")] = 50,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the tasks in the knowledge base."""
    frame = _kb(db).tasks(flow)
    if as_json:
        _print_json(json.loads(frame.to_json(orient="records")))
        return
    shown = frame if limit == 0 else frame.head(limit)
    table = Table(title=f"{len(frame):,} tasks" + (f" with flow {flow}" if flow else ""))
    key_width = max((len(str(t)) for t in shown.task_id), default=4)
    for column in (
        "task",
        "name",
        "type",
        "OpenML dataset",
        "rows",
        "features",
        "classes",
        "evaluations",
    ):
        table.add_column(
            column,
            justify="left" if column in ("task", "name", "type") else "right",
            # A key cut short with an ellipsis could not be pasted into `show task`.
            no_wrap=column == "task",
            min_width=key_width if column == "task" else None,
        )
    for row in shown.itertuples():
        table.add_row(
            str(row.task_id),
            str(row.name or ""),
            str(row.task_type or ""),
            *(
                _fmt(v)
                for v in (
                    row.openml_dataset_id,
                    row.n_rows,
                    row.n_features,
                    row.n_classes,
                    row.evaluations,
                )
            ),
        )
    out.print(table)
    if len(shown) < len(frame):
        out.print(f"... {len(frame) - len(shown):,} more; --limit 0 shows all, --json prints all")


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return str(value)


@show_app.command("task")
def show_task(
    task_id: Annotated[
        str,
        typer.Argument(
            metavar="TASK",
            help="Task key (openml:31), OpenML task id, a unique prefix of a key, or a name.",
        ),
    ],
    top: Annotated[int, typer.Option("--top", min=1, help="Best configurations per flow.")] = 5,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one task: its dataset, its evaluations and its best configurations."""
    result = _kb(db).task(task_id, top=top)
    if result is None:
        raise MetakbError(f"no task {task_id!r} in the knowledge base; `metakb tasks` lists them")
    if as_json:
        _print_json(result)
        return
    task, dataset = result["task"], result["dataset"] or {}
    out.print(f"[bold]{task['task_id']}[/bold] {task['name'] or ''} ({task['task_type'] or '?'})")
    out.print(
        f"dataset {task['dataset_id']}: {_fmt(dataset.get('n_rows'))} rows, "
        f"{_fmt(dataset.get('n_features'))} features, {_fmt(dataset.get('n_classes'))} classes; "
        f"meta-features: "
        + (
            ", ".join(f"{m['values']} by {m['computed_by']}" for m in result["meta_features"])
            or "none"
        )
    )
    summary = Table(title="Evaluations")
    for column in ("flow", "metric", "n", "best", "median", "worst"):
        summary.add_column(column, justify="left" if column in ("flow", "metric") else "right")
    for row in result["evaluations"]:
        summary.add_row(
            row["flow_id"],
            f"{row['metric']} ({row['direction']})",
            f"{row['evaluations']:,}",
            *(f"{row[k]:.4g}" for k in ("best", "median", "worst")),
        )
    out.print(summary)
    best = Table(title="Best configurations")
    for column in ("flow", "metric", "value"):
        best.add_column(column, no_wrap=True)
    best.add_column("configuration", overflow="fold")
    for row in result["best"]:
        best.add_row(row["flow_id"], row["metric"], f"{row['value']:.4g}", _short(row["params"]))
    out.print(best)


def _short(params_json: str) -> str:
    # Flow parameter names carry their pipeline step (svc__C); the last part reads better.
    params = json.loads(params_json)
    return ", ".join(
        f"{k.rsplit('__', 1)[-1]}={v:.4g}"
        if isinstance(v, float)
        else f"{k.rsplit('__', 1)[-1]}={v}"
        for k, v in params.items()
    )


@app.command()
def migrate(db: DbOption = None) -> None:
    """Upgrade the knowledge base to this metakb's schema version."""
    from metakb.store import SCHEMA_VERSION

    kb = _kb(db)
    before = kb.migrate()
    out.print(f"{kb.path}: schema version {before} -> {SCHEMA_VERSION}")


@app.command()
def quickstart(
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Published data folder [default: $METAKB_DATA]."),
    ] = None,
    server: Annotated[
        str | None,
        typer.Option("--server", help="OpenML API URL [default: $METAKB_OPENML_SERVER]."),
    ] = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="Do not try OpenML; use the data folder.")
    ] = False,
    local: Annotated[
        bool,
        typer.Option(
            "--local/--no-local",
            help="Without OpenML, a data folder or a shipped meta-dataset, evaluate on "
            "scikit-learn's datasets.",
        ),
    ] = True,
    search: Annotated[
        bool,
        typer.Option("--search/--no-search", help="End with a warm vs cold search."),
    ] = True,
    budget: Annotated[int, typer.Option("--budget", min=1, help="Trials per search.")] = 10,
    db: DbOption = None,
) -> None:
    """Build the knowledge base from the best available source and summarize it.

    Then run a short warm-started search next to a cold one on scikit-learn's
    breast_cancer table and print both best-so-far curves.
    """
    kb = _kb(db)
    with progress_bar() as progress:
        result = kb.quickstart(
            data_dir,
            openml_server=server,
            use_openml=not offline,
            local_fallback=local,
            progress=progress,
        )
    out.print(f"source: {result.source} ({result.detail})")
    out.print(_added_line(result.added))
    _print_stats(str(kb.path), result.stats)
    if search:
        try:
            with err.status("warm-started and cold search on breast_cancer ..."):
                comparison = kb.compare_searches(budget=budget)
        except MetakbError as exc:  # the knowledge base is built; only the demo is missing
            out.print(f"warm vs cold search skipped: {exc}")
        else:
            _print_comparison(comparison)
    out.print("next: `metakb tasks`, `metakb search FILE --target COL`, `metakb stats --json`")


def _print_comparison(comparison: Any) -> None:
    table = Table(
        "trial",
        f"warm ({comparison.warm_start})",
        "cold",
        title=f"best accuracy so far: {comparison.algorithm}, {comparison.method}, "
        f"{comparison.example}",
    )
    for i, (warm, cold) in enumerate(zip(comparison.warm, comparison.cold, strict=True)):
        table.add_row(str(i + 1), _fmt_score(warm), _fmt_score(cold))
    out.print(table)


def _fmt_score(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


@app.command("app")
def run_app(
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to serve on.")] = 8501,
    host: Annotated[
        str, typer.Option("--host", help="Interface; the default keeps it on this machine.")
    ] = "127.0.0.1",
    db: DbOption = None,
) -> int:
    """Start the Streamlit app on 127.0.0.1; only its Search page writes (trials)."""
    from metakb.appserver import serve

    kb = _kb(db)
    out.print(f"metakb app on http://{host}:{port} over {kb.path} (Ctrl+C stops it)")
    return serve(kb.path, port, host)


# -- metakb ingest openml ------------------------------------------------------------------


@ingest_app.command("openml")
def ingest_openml_command(
    suite: Annotated[
        str | None,
        typer.Option(
            "--suite", help="Benchmark suite id or alias, OpenML100 = 14 (default: none)."
        ),
    ] = None,
    task: Annotated[
        list[int] | None, typer.Option("--task", help="OpenML task id (repeatable; default: none).")
    ] = None,
    flow: Annotated[
        list[int] | None, typer.Option("--flow", help="OpenML flow id (repeatable; default: none).")
    ] = None,
    metric: Annotated[str, typer.Option("--metric", help="OpenML evaluation measure.")] = (
        "predictive_accuracy"
    ),
    max_runs: Annotated[
        int | None,
        typer.Option("--max-runs", min=1, help="At most N evaluations per task (default: all)."),
    ] = None,
    server: Annotated[
        str | None,
        typer.Option(
            "--server", help="OpenML API URL [default: $METAKB_OPENML_SERVER or openml.org]."
        ),
    ] = None,
    with_data: Annotated[
        bool, typer.Option("--with-data", help="Also download the dataset files into the cache.")
    ] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.1, help="Seconds to wait for one answer.")
    ] = 30.0,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Pull tasks, qualities, flows and evaluated setups from OpenML (resumable)."""
    # Imported here: openml-python is slow to import and only this command needs it.
    from metakb.sources.openml import HttpPolicy, resolve_server

    if suite is None and not task and not flow:
        raise typer.BadParameter("select at least one of --suite, --task, --flow")
    try:
        server = resolve_server(server)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--server") from exc
    kb = _kb(db)
    with (
        _on_interrupt(f"each page of runs is committed to {kb.path} with its checkpoint"),
        progress_bar(enabled=not as_json) as progress,
    ):
        summary = kb.ingest_openml(
            suite=suite,
            tasks=task or (),
            flows=flow or (),
            metric=metric,
            max_runs=max_runs,
            server=server,
            with_data=with_data,
            progress=progress,
            http=HttpPolicy(timeout_s=timeout),
        )
    if as_json:
        _print_json(summary.to_dict())
        return
    out.print(f"OpenML server {summary.server}: {_added_line(summary.added())}")
    resumed = " (resumed)" if summary.resumed else ""
    out.print(
        f"{summary.evaluations_seen} evaluations read in {summary.pages} page(s){resumed}; "
        f"checkpoint {summary.run_id}"
    )
    for reason, n in sorted(summary.skipped.items()):
        out.print(f"[yellow]skipped[/yellow] {n}: {reason}")


# --- featurize -----------------------------------------------------------------


@app.command("featurize")
def featurize_command(
    file: Annotated[
        Path | None, typer.Argument(metavar="FILE", help="A CSV, TSV, Parquet or ARFF table.")
    ] = None,
    target: Annotated[
        str | None, typer.Option("--target", help="Target column [default: target or class].")
    ] = None,
    task_type: Annotated[
        str | None,
        typer.Option("--task-type", help="classification or regression [default: inferred]."),
    ] = None,
    families: Annotated[
        list[str] | None,
        typer.Option("--families", help="Families to compute (repeat); all by default."),
    ] = None,
    all_datasets: Annotated[
        bool, typer.Option("--all", help="Every knowledge-base dataset with a local file.")
    ] = False,
    jobs: Annotated[int, typer.Option("--jobs", help="Worker processes for --all.")] = 2,
    seed: Annotated[int, typer.Option("--seed", help="Seed of subsampling and folds.")] = 0,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Compute meta-features of one table, or of every dataset in the knowledge base (--all)."""
    from metakb.metafeatures import FAMILIES, featurize_file

    if all_datasets == (file is not None):
        raise typer.BadParameter("give either a FILE or --all")
    unknown = sorted(set(families or []) - set(FAMILIES))
    if unknown:
        raise typer.BadParameter(f"unknown families {unknown}; choose from {', '.join(FAMILIES)}")
    if task_type not in (None, "classification", "regression"):
        raise typer.BadParameter("--task-type must be classification or regression")
    if file is None:
        kb = _kb(db)
        with (
            _on_interrupt(f"meta-features written so far (in batches) are kept in {kb.path}"),
            progress_bar(not as_json) as progress,
        ):
            summary = kb.featurize(families=families, n_jobs=jobs, progress=progress)
        if as_json:
            _print_json(summary.__dict__)
            return
        out.print(
            f"featurized {summary.featurized} datasets ({summary.already_done} already done, "
            f"{len(summary.failed)} failed) in {summary.seconds:.1f} s: "
            f"{summary.values_added} values stored, {summary.values_missing} skipped "
            "(missing, with a reason)"
        )
        for dataset_id, message in summary.failed.items():
            err.print(f"  {dataset_id}: {message}", highlight=False)
        return
    table, result = featurize_file(file, target, task_type=task_type, families=families, seed=seed)
    if as_json:
        _print_json(result.to_json())
        return
    grid = Table(title=f"{table.name}: {table.task_type}, {len(table.X)} rows")
    for column in ("name", "value", "family"):
        grid.add_column(column)
    for name, value in sorted(result.values.items()):
        shown = f"{value:.6g}" if value == value else f"- ({result.skipped.get(name, '')})"
        grid.add_row(name, shown, result.family[name])
    out.print(grid)
    seconds = ", ".join(f"{k} {v:.2f} s" for k, v in result.seconds.items())
    out.print(f"{len(result.values)} meta-features, {len(result.skipped)} skipped; {seconds}")
    if table.n_dropped:
        out.print(f"{table.n_dropped} rows with a missing target were dropped")


# -- warm starters: train and recommend -------------------------------------------------


MinConfigsOption = Annotated[
    int, typer.Option("--min-configs", min=1, help="Leave out tasks with fewer evaluated configs.")
]


@app.command("train")
def train_models(
    models: Annotated[list[str] | None, _TRAIN_METHODS] = None,
    algorithms: Annotated[list[str] | None, _TRAIN_ALGORITHMS] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of every model.")] = 0,
    min_configs: MinConfigsOption = 10,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Fit the warm starters and save them as versioned artifacts next to the knowledge base."""
    from dataclasses import asdict

    kb = _kb(db)
    with progress_bar(not as_json) as progress:
        manifests = kb.train(
            algorithms, models, seed=seed, min_configs=min_configs, progress=progress
        )
    if as_json:
        _print_json(
            {
                "artifacts": [
                    asdict(m) | {"training_tasks": len(m.training_tasks)} for m in manifests
                ]
            }
        )
        return
    table = Table("algorithm", "task type", "method", "tasks", "meta-features", "fit s")
    for m in manifests:
        table.add_row(
            m.space,
            m.task_type,
            m.method,
            str(len(m.training_tasks)),
            str(len(m.meta_feature_names)),
            f"{m.fit_seconds:.1f}",
        )
    out.print(table)
    out.print(f"saved under {kb.layout.artifacts}")


@app.command("recommend")
def recommend_configs(
    file: Annotated[
        Path | None,
        typer.Argument(metavar="FILE", help="A new table (CSV, Parquet, ARFF) to recommend for."),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option("--target", help="The table's target column (default: target or class)."),
    ] = None,
    task: Annotated[
        str | None,
        typer.Option(
            "--task",
            help="Instead of FILE: a task in the knowledge base (key, OpenML id, key prefix or "
            "name; default: none).",
        ),
    ] = None,
    meta_features: Annotated[
        Path | None,
        typer.Option(
            "--meta-features",
            help="Instead of FILE: a JSON file of a new task's meta-features (default: none).",
        ),
    ] = None,
    algorithm: Annotated[str | None, _ALGORITHM] = None,
    task_type: Annotated[
        str | None,
        typer.Option(
            "--task-type",
            help="classification or regression [default: the table's or the task's own; "
            "for --meta-features the algorithm's first, classification].",
        ),
    ] = None,
    k: Annotated[int, typer.Option("-k", min=1, help="How many configurations.")] = 10,
    method: Annotated[str | None, _WARM_STARTER] = None,
    max_relative_cost: Annotated[
        float | None,
        typer.Option(
            "--max-relative-cost",
            min=0.0,
            help="Only configurations predicted to fit in at most this multiple of the "
            "defaults' fit time (from the fit times the knowledge base stores; unknown: left out).",
        ),
    ] = None,
    metric: Annotated[str | None, _RECOMMEND_METRIC] = None,
    min_configs: MinConfigsOption = 10,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Recommend configurations for a new table, a task in the knowledge base or meta-features.

    --task fits the model afresh without the task's dataset; FILE and
    --meta-features use the models saved by `metakb train` (one is fitted now
    when none is saved, or it learned from another --metric). The models learn
    from tasks of the new task's type only. Leaf sizes a table is too small
    for are capped for its rows (NumberOfInstances), and the capped values
    are shown.
    """
    from metakb.kb import (
        ExtrapolationWarning,
        ModelFittedWarning,
        check_metric,
        recommendations_json,
    )
    from metakb.models import DEFAULT_RECOMMENDER, WARM_STARTERS
    from metakb.spaces import DEFAULT_ALGORITHM, SPACES, get_algorithm

    if sum(x is not None for x in (file, task, meta_features)) != 1:
        raise MetakbError("give either a FILE (with --target), --task or --meta-features")
    if task_type not in (None, "classification", "regression"):
        raise typer.BadParameter("--task-type must be classification or regression")
    # Checked before the table's meta-features are computed (seconds on a large table).
    if method is not None and method not in WARM_STARTERS:
        raise UsageError(f"unknown method {method!r}; known: {', '.join(WARM_STARTERS)}")
    try:
        get_algorithm(algorithm or DEFAULT_ALGORITHM)  # a name or a flow id
    except KeyError:
        raise UsageError(f"unknown algorithm {algorithm!r}; known: {', '.join(SPACES)}") from None
    if metric is not None:
        check_metric(metric)  # its task type is checked once the table's is known
    kb = _kb(db)
    if not kb.path.exists():
        kb.stats()  # raises the store's own message, with the absolute path
    features = _read_meta_features(meta_features) if meta_features is not None else None
    leave_out: list[str] = []  # the table's own copies in the knowledge base
    if file is not None:
        from metakb.datasets import load_table
        from metakb.metafeatures import extract_table

        loaded = load_table(file, target, task_type=task_type)
        task_type = loaded.task_type
        for note in loaded.notes:
            err.print(f"note: {note}", highlight=False, soft_wrap=True)
        computed = extract_table(loaded, seed=0).values
        features = {name: v for name, v in computed.items() if v == v}  # NaN: not computed
        for match in kb.match_table(loaded):
            leave_out.extend(match.task_ids)
            err.print(
                f"note: {match.describe()}: left out of its recommendation; "
                f"`metakb show task {match.task_ids[0]}` lists its best configurations",
                highlight=False,
                soft_wrap=True,
            )
    # The task's row (None: recommend says there is no such task) gives its task type and rows.
    found = kb.task(task, top=0) if task is not None else None
    if found is not None and task_type is None:
        task_type = found["task"]["task_type"]
    algorithm = algorithm or DEFAULT_ALGORITHM
    if task is not None:
        dataset = (found or {}).get("dataset") or {}
        n_rows = _rows_of({"NumberOfInstances": dataset.get("n_rows")})
    else:
        n_rows = _rows_of(features)
    with _warnings_to_stderr(ExtrapolationWarning, ModelFittedWarning):
        recs = kb.recommend(
            features,
            algorithm=algorithm,
            k=k,
            method=method,
            task=task,
            task_type=task_type,
            min_configs=min_configs,
            leave_out=leave_out,
            n_rows=n_rows,
            max_relative_cost=max_relative_cost,
            metric=metric,
        )
    record = get_algorithm(algorithm)
    result = recommendations_json(record, recs, task_type or record.task_types[0], n_rows)
    if as_json:
        _print_json(result)
        return
    _print_recommendations(
        recs,
        result,
        method or DEFAULT_RECOMMENDER,
        n_rows,
        max_relative_cost,
        task if task is not None else str(file or meta_features),
    )


def _print_recommendations(
    recs: Sequence[RecommendedConfig],
    result: Mapping[str, Any],
    method: str,
    n_rows: int | None,
    max_relative_cost: float | None,
    target_name: str,
) -> None:
    from metakb.kb import SCORE_NOTE

    out.print(f"{result['estimator']} ({result['task_type']}) via {method} for {target_name}")
    if not recs:
        out.print(f"no configuration is predicted to fit within x{max_relative_cost:g} the default")
        return
    # Rows in recommended order: the default first unless a pick clears the bar.
    table = Table("#", "pred. score (0-1)", "gain vs default", "cost ×default", "from tasks")
    for i, rec in enumerate(recs, start=1):
        table.add_row(
            str(i),
            "-" if rec.predicted_score is None else f"{rec.predicted_score:.3f}",
            rec.gain_text(),
            rec.cost_text(),
            ", ".join(rec.source_tasks),
        )
    out.print(table)
    estimator = str(result["estimator"]).rsplit(".", 1)[-1]
    for i, rec in enumerate(recs, start=1):
        # One unbroken line each, to paste as it is: the estimator's keyword arguments.
        out.print(f"#{i} {estimator}({rec.kwargs_text()})", highlight=False, soft_wrap=True)
    for i, rec in enumerate(recs, start=1):
        cost = (
            rec.cost_basis
            if rec.relative_cost is None
            else f"×{rec.cost_text()} ({rec.cost_basis})"
        )
        out.print(f"why #{i}: {rec.reason or '-'}; cost {cost}", highlight=False)
    for i, entry in enumerate(result["recommendations"], start=1):
        if entry["adapted"]:
            out.print(f"note: #{i} {_adapted_note(entry['adapted'], n_rows)}", highlight=False)
    out.print(SCORE_NOTE, highlight=False)
    out.print(
        "gain vs default: predicted normalized score over the library default ± its spread "
        "over the tasks it rests on; rows are in recommended order (the default leads "
        "unless a pick's gain exceeds its spread)",
        highlight=False,
    )
    out.print(
        "cost ×default: predicted fit time over the library default's, from the fit times "
        "the knowledge base stores",
        highlight=False,
    )


@contextmanager
def _warnings_to_stderr(*categories: type[Warning]) -> Iterator[None]:
    """Print warnings of ``categories`` as one ``warning:`` line each on stderr, others as usual."""
    with warnings.catch_warnings(record=True) as caught:
        for category in categories:
            warnings.simplefilter("always", category)
        yield
    for w in caught:
        if issubclass(w.category, categories):
            err.print(f"[yellow]warning:[/yellow] {w.message}", highlight=False, soft_wrap=True)
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)


def _read_meta_features(path: Path) -> dict[str, float]:
    try:
        raw = json.loads(path.read_text())
        return {str(name): float(value) for name, value in raw.items() if value is not None}
    except (OSError, ValueError, AttributeError, TypeError) as exc:
        raise MetakbError(f"{path}: not a JSON object of meta-feature values ({exc})") from None


def _rows_of(features: Mapping[str, Any] | None) -> int | None:
    """Return the table's rows from its meta-features, None when they do not say."""
    value = (features or {}).get("NumberOfInstances")
    try:
        rows = int(value) if value is not None and math.isfinite(value) else 0
    except (TypeError, ValueError):
        return None
    return rows if rows >= 1 else None


def _adapted_note(adapted: Mapping[str, Mapping[str, Any]], n_rows: int | None) -> str:
    """Return the sentence saying which values were capped for the table's rows."""
    # Estimator argument names; a base model's (estimator__max_depth) as inside its call.
    changes = ", ".join(
        f"{name.rsplit('__', 1)[-1]} {v['from']} -> {v['to']}" for name, v in adapted.items()
    )
    return f"adapted to the table's {n_rows:,} rows, so every tree can split: {changes}"


# --- sweep: metakb's own experiments ---------------------------------------------------


@app.command("sweep")
def sweep_command(
    datasets: Annotated[
        str,
        typer.Option(
            "--datasets",
            help="A folder of tables (a manifest.csv is read when present), 'sklearn' "
            "(scikit-learn's bundled datasets) or 'kb' (the knowledge base's datasets with files).",
        ),
    ],
    algorithm: Annotated[str | None, _ALGORITHM] = None,
    design: Annotated[
        str | None,
        typer.Option(
            "--design",
            help="Configuration design: standard (26 configurations), small (10) or large (98) "
            "(default: standard).",
        ),
    ] = None,
    folds: Annotated[int, typer.Option("--folds", min=2, help="Cross-validation folds.")] = 5,
    max_rows: Annotated[
        int | None,
        typer.Option(
            "--max-rows", min=2, help="Cut larger tables to this many rows (default: 500)."
        ),
    ] = None,
    dask: Annotated[
        str | None,
        typer.Option(
            "--dask", help="Evaluate on Dask: local:N or tcp://HOST:PORT (default: in-process)."
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            help="Local worker processes, instead of --dask (default: in-process).",
        ),
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option("--exclude", help="A dataset name to leave out (repeatable; default: none)."),
    ] = None,
    task_type: Annotated[
        str | None,
        typer.Option(
            "--task-type", help="Sweep only classification or regression tables (default: both)."
        ),
    ] = None,
    time_limit: Annotated[
        float, typer.Option("--time-limit", help="Seconds per configuration (longer: failed).")
    ] = 600.0,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue an earlier run of the same sweep.")
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of folds, cuts and design.")] = 0,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Cross-validate a design of configurations on many tables and store every evaluation.

    The design holds the library's defaults, the space's default, published
    configurations and a space-filling sample. Every evaluation (per-fold
    scores, fit time, failures with their reason) is written as it finishes,
    so an interrupted sweep continues with --resume and duplicates nothing.
    """
    from metakb.search import executor_spec

    if dask is not None and workers is not None:
        raise MetakbError("give --dask or --workers, not both")
    executor = f"process:{workers}" if workers is not None else executor_spec(dask)
    kb = _kb(db)
    with (
        _on_interrupt(f"every finished evaluation is stored in {kb.path}", "--resume"),
        progress_bar(not as_json) as progress,
    ):
        report = kb.sweep(
            algorithm,
            datasets,
            design=design,
            n_splits=folds,
            max_rows=max_rows,
            executor=executor,
            trial_timeout=time_limit,
            exclude=exclude or (),
            task_type=task_type,
            resume=resume,
            seed=seed,
            progress=progress,
        )
    if as_json:
        _print_json(report.to_dict())
        return
    out.print(
        f"swept {report.datasets} datasets x {len(report.design)} configurations: "
        f"{report.evaluations} evaluations added, {report.already} already stored, "
        f"{report.cpu_seconds / 3600:.2f} CPU hours in {report.wall_seconds / 60:.1f} min"
    )
    for name, reason in sorted(report.failed.items()):
        out.print(f"failed: {name}: {reason}")
    skipped = {
        n: r for n, r in report.skipped.items() if r != "excluded" and not r.startswith("a ")
    }
    for name, reason in sorted(skipped.items()):
        out.print(f"skipped: {name}: {reason}")
    for name, notes in sorted(report.notes.items()):
        out.print(f"note: {name}: {'; '.join(notes)}", highlight=False, soft_wrap=True)


# --- search: a warm-started search on the user's table --------------------------------


@app.command("search")
def search_command(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="The table (CSV, TSV, Parquet, ARFF).")
    ],
    target: Annotated[
        str | None, typer.Option("--target", help="Target column (default: target or class).")
    ] = None,
    algorithm: Annotated[str | None, _ALGORITHM] = None,
    budget: Annotated[int, typer.Option("--budget", "-n", min=1, help="Number of trials.")] = 20,
    method: Annotated[str | None, _OPTIMIZER] = None,
    warm: Annotated[str | None, _WARM_START] = None,
    metric: Annotated[str | None, _METRIC] = None,
    dask: Annotated[
        str | None,
        typer.Option(
            "--dask", help="Evaluate on Dask: local:N or tcp://HOST:PORT (default: in-process)."
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the search.")] = 0,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue an earlier run of the same search.")
    ] = False,
    new: Annotated[
        bool, typer.Option("--new", help="Start the same search over, discarding its resume log.")
    ] = False,
    time_limit: Annotated[
        float | None,
        typer.Option("--time-limit", help="Seconds per trial, longer fails (default: no limit)."),
    ] = None,
    time_budget: Annotated[
        float | None,
        typer.Option(
            "--time-budget",
            help="Total seconds for the trials: none starts that is expected to end later; "
            "with --budget, whichever ends first; a resume gets it whole again "
            "(default: no time budget).",
        ),
    ] = None,
    folds: Annotated[int, typer.Option("--folds", min=2, help="Cross-validation folds.")] = 5,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Search hyperparameters on FILE, warm-started from the knowledge base.

    Every trial is written to the knowledge base (source 'local') and to a
    resume log next to it; the best configuration is printed as estimator
    keyword arguments. The same settings on the same file are the same
    search: rerun it with --resume to continue it, or --new to start over.
    """
    from metakb.search import executor_spec

    kb = _kb(db)
    try:
        with _search_progress(budget, enabled=not as_json) as on_trial:
            found = kb.search(
                file,
                target=target,
                algorithm=algorithm,
                budget=budget,
                method=method,
                warm_start=warm,
                metric=metric,
                executor=executor_spec(dask),
                seed=seed,
                resume=resume,
                new=new,
                time_limit=time_limit,
                time_budget=time_budget,
                n_splits=folds,
                on_trial=on_trial,
            )
    except SearchExistsError as exc:
        raise UsageError(
            f"search {exc.search_id} already has {exc.n_trials} trial(s) ({exc.log_path}): "
            "rerun with --resume to continue it or --new to start it over"
        ) from None
    except SearchInterrupted as stop:
        _interrupted(
            f"{stop.n_trials} of {budget} trials saved in {stop.log_path} and in {kb.path}",
            _continue_command("--resume", drop=("--new",)),
        )
    except KeyboardInterrupt:
        _interrupted("no trial had finished", _continue_command())
    if as_json:
        _print_json(found.to_dict())
        return
    _print_search(found)


@contextmanager
def _search_progress(budget: int, enabled: bool) -> Iterator[Callable[[Any, Any], None]]:
    """Yield the search's ``on_trial``: a progress bar on a terminal, else one line per trial.

    Both show the best score, the failures, the mean seconds a trial takes and
    the time left, estimated from this run's pace (trials in parallel included).
    """
    if not enabled:
        yield lambda record, result: None
        return
    started, new = time.monotonic(), 0

    def summary(result: Any) -> str:
        nonlocal new
        new += 1
        best = result.best
        failed = sum(t.status == "failed" for t in result.trials)
        per_trial = sum(t.seconds for t in result.evaluated[-new:]) / new
        todo = max(budget - len(result.evaluated), 0)
        left = f"ETA {_duration((time.monotonic() - started) / new * todo)}" if todo else "done"
        return (
            f"best {'-' if best is None else f'{best.score:.4f}'}, {failed} failed, "
            f"~{_duration(per_trial)}/trial, {left}"
        )

    if not err.is_terminal:
        # A log file or a pipe: rich would print nothing until the end.
        def line(record: Any, result: Any) -> None:
            score = "failed" if record.score is None else f"{record.score:.4f}"
            # Written directly: rich buffers, and a Ctrl-C mid-flush would print it twice.
            sys.stderr.write(
                f"trial {len(result.evaluated)}/{budget}: {score} in {_duration(record.seconds)}; "
                f"{summary(result)}\n"
            )
            sys.stderr.flush()

        yield line
        return
    with _rich_progress() as progress:
        bar = progress.add_task(f"searching ({budget} trials)", total=budget)

        def update(record: Any, result: Any) -> None:
            progress.update(
                bar, completed=len(result.evaluated), description=f"searching: {summary(result)}"
            )

        yield update


def _duration(seconds: float) -> str:
    """Return a duration for people: ``0.8 s``, ``42 s``, ``3.5 min``, ``1.2 h``."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _print_search(found: Any) -> None:
    from metakb.spaces import python_kwargs

    trials = found.result.evaluated
    for note in found.notes:
        out.print(f"note: {note}")
    out.print(
        f"search {found.search_id} on {found.task_name} ({found.task_id}): {len(trials)} trials, "
        f"{found.warm.enqueued} warm-start configurations, "
        f"{found.evaluations_added} evaluations added (log {found.log_path})"
    )
    ranked = sorted(
        (t for t in trials if t.status == "ok"),
        key=lambda t: (-t.fidelity, -(t.score or 0.0)),
    )
    if found.stop is not None:
        out.print(f"stopped: {found.stop.message}", highlight=False)
    table = Table("trial", found.metric, "fidelity", "s")
    # Folded, never cut short: the configuration is meant to be read in full.
    table.add_column(f"config: {found.estimator} arguments", overflow="fold")
    for t in ranked[:10]:
        table.add_row(
            str(t.trial_id),
            f"{t.score:.4f}",
            f"{t.fidelity:.3g}",
            f"{t.seconds:.1f}",
            python_kwargs(found.estimator_params(t)),
        )
    out.print(table)
    failed = [t for t in trials if t.status == "failed"]
    if failed:
        out.print(f"{len(failed)} failed trial(s), e.g.: {failed[0].error}")
    best = found.best_estimator_params()
    # Dates encoded, ids and free text dropped: every trial saw the table so.
    columns = f"      preprocessing: {'; '.join(found.column_notes)}" if found.column_notes else ""
    if best is None:
        out.print("no trial succeeded")
        if columns:
            out.print(columns, highlight=False, soft_wrap=True)
        return
    out.print(f"best: {found.estimator}({python_kwargs(best)})", highlight=False)
    adapted = {k: {"from": a, "to": b} for k, (a, b) in found.best_adaptations().items()}
    if adapted:
        out.print(f"      {_adapted_note(adapted, found.n_rows)}", highlight=False)
    imputer = found.best_imputer()
    if imputer is not None:
        out.print(f"      with SimpleImputer(strategy={imputer!r}) for numeric columns")
    if columns:
        out.print(columns, highlight=False, soft_wrap=True)


@app.command(
    "bench",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def bench_command(
    ctx: typer.Context, suite: Annotated[str, typer.Argument(metavar="SUITE")] = ""
) -> None:
    """Run a benchmark suite: metakb bench SUITE [its options] (SUITE --help lists them)."""
    # The suites parse their own options (metakb.bench.suites); this only dispatches.
    from metakb.bench.suites import SUITES, run_suite

    if suite not in SUITES:
        lines = [f"  {s.name:<14} {s.summary}" for s in SUITES.values()]
        known = suite in ("", "--help", "-h")
        text = "usage: metakb bench SUITE [options]\nsuites:\n" + "\n".join(lines)
        (out if known else err).print(text, markup=False, highlight=False)
        raise typer.Exit(0 if known else 2)
    raise typer.Exit(run_suite(suite, ctx.args))


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status instead of raising ``SystemExit``."""
    args = sys.argv[1:] if argv is None else argv
    _ARGV[:] = args
    if not args or "--help" in args:
        _registry_help()
    try:
        result = app(args=args, standalone_mode=False)
    except MetakbError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        return 2 if isinstance(exc, UsageError) else 1
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
