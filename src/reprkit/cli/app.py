"""``reprkit`` command line: ``list``, ``<method> config``, ``<method> run``.

The CLI only maps arguments onto ``experiment.run(...)``; all checks live in the library.
"""

# no `from __future__ import annotations`: typer reads real annotations that use closures

import json
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from reprkit.core import distributed, registry
from reprkit.core.config import config_to_dict, parse_set

app = typer.Typer(
    help="reprkit: ten methods from Amazon's ICLR 2022 papers, with reproductions.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(stderr=True, soft_wrap=True)  # paths in errors stay whole


@app.command("list")
def list_all() -> None:
    """Show methods (with status), datasets and experiments."""
    out = Console()
    t = Table(title="methods")
    for col in ("name", "status", "paper", "datasets"):
        t.add_column(col)
    for spec in registry.methods().values():
        t.add_row(spec.name, spec.status, spec.paper, ", ".join(spec.datasets) or "–")
    out.print(t)
    d = Table(title="datasets")
    for col in ("name", "domain", "description"):
        d.add_column(col)
    for ds in registry.datasets().values():
        d.add_row(ds.name, ds.domain, ds.description)
    out.print(d)
    out.print(
        "experiments: "
        + ", ".join(f"reprkit {m.name} run" for m in registry.methods().values() if m.experiment)
    )


@app.command("compare")
def compare(
    runs: Annotated[list[Path], typer.Argument(help="run folders of one method")],
    format_: Annotated[str, typer.Option("--format", help="md, csv or json")] = "md",
) -> None:
    """Print several runs of one method side by side: mean ± std per run, and the paper."""
    from reprkit.eval.report import compare_runs

    try:
        print(compare_runs(runs, format_), end="")
    except ValueError as e:
        _fail(e)


def _seeds(text: str) -> list[int]:
    try:
        return [int(s) for s in text.split(",") if s.strip() != ""]
    except ValueError:
        raise typer.BadParameter(
            f"--seeds expects comma-separated integers like 0,1,2; got {text!r}"
        ) from None


def _method_app(spec: registry.MethodSpec) -> typer.Typer:
    sub = typer.Typer(help=f"{spec.paper}: {spec.description}", no_args_is_help=True)

    @sub.command("config")
    def config(
        profile: Annotated[str, typer.Option(help="profile whose settings to show")] = "paper",
        set_: Annotated[list[str] | None, typer.Option("--set", help="override key=value")] = None,
    ) -> None:
        """Print the experiment's config (defaults + profile + --set) as JSON."""
        try:
            cfg = spec.load_experiment().resolve_config(profile, parse_set(set_ or []))
        except (KeyError, ValueError, TypeError) as e:
            _fail(e)
        print(json.dumps(config_to_dict(cfg), indent=2))

    @sub.command("run")
    def run(
        dataset: Annotated[str, typer.Option(help=f"one of: {', '.join(spec.datasets)}")],
        seeds: Annotated[str, typer.Option(help="comma-separated seeds")] = "0,1,2",
        profile: Annotated[
            str,
            typer.Option(
                help="smoke (seconds), paper (the headline experiment) or one the method "
                "adds (grda: fast); a wrong name lists them"
            ),
        ] = "smoke",
        set_: Annotated[
            list[str] | None, typer.Option("--set", help="override a config key: a.b=value")
        ] = None,
        out: Annotated[
            Path | None,
            typer.Option(help="run folder (default runs/<method>/<dataset>/<stamp>)"),
        ] = None,
        device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N")] = "auto",
        progress: Annotated[
            bool | None,
            typer.Option(
                "--progress/--no-progress", help="progress bars (default: when on a terminal)"
            ),
        ] = None,
        resume: Annotated[
            bool,
            typer.Option(help="continue an interrupted run in --out from its checkpoints"),
        ] = False,
        workers: Annotated[
            int,
            typer.Option(
                help="run that many independent cells (seed x setting, or models) at a time: "
                "local processes (executor serial) or Ray CPUs (executor ray)"
            ),
        ] = 1,
        executor: Annotated[
            str,
            typer.Option(
                help="serial (this machine; --workers > 1: local processes) or ray (needs the "
                "ray extra)"
            ),
        ] = "serial",
        ray_address: Annotated[
            str | None,
            typer.Option(help="join the Ray cluster at this address (default: a local Ray)"),
        ] = None,
    ) -> None:
        """Run the paper's headline experiment and write metrics.json, results.md, plots."""
        from reprkit.core.cells import Engine

        experiment = spec.load_experiment()  # every experiment takes resume and engine
        try:
            engine = Engine(executor, workers, ray_address).validate()
        except ValueError as e:
            _fail(e)
        try:
            path = experiment.run(
                dataset=dataset,
                seeds=_seeds(seeds),
                profile=profile,
                overrides=parse_set(set_ or []),
                out=out,
                device=device,
                progress=progress,
                resume=resume,
                engine=engine,
            )
        except (KeyError, ValueError, TypeError, FileNotFoundError) as e:
            _fail(e)
        if not distributed.is_main():  # under torchrun: rank 0 wrote the run and reports it
            return
        console.print(f"[green]done[/green]: {path}/results.md")
        print((Path(path) / "results.md").read_text())

    return sub


def _fail(e: BaseException) -> None:
    msg = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
    console.print(f"[red]error:[/red] {msg}")
    raise typer.Exit(code=2)


for _spec in registry.methods().values():
    if _spec.experiment is not None:
        app.add_typer(_method_app(_spec), name=_spec.name)


def _terminate(signum: int, _frame: object) -> None:
    """SIGTERM ends a run like Ctrl-C: the half-written run folder is removed on the way out."""
    raise SystemExit(128 + signum)


def main() -> None:
    signal.signal(signal.SIGTERM, _terminate)
    app(prog_name="reprkit")


if __name__ == "__main__":
    sys.exit(main())
