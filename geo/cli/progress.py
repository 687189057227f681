"""Progress display for long steps, on standard error so that tables stay clean on standard output."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from geo.analysis import StepCallback

err_console = Console(stderr=True)


@contextmanager
def step_progress(total_steps: int, enabled: bool = True) -> Iterator[StepCallback]:
    """A progress bar over the steps of a run, naming the current one; yields the step callback."""
    if not enabled:
        yield lambda _name: None
        return
    columns = (SpinnerColumn(), TextColumn("{task.description:<28}"), BarColumn(),
               TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True) as progress:
        task = progress.add_task("starting", total=total_steps)
        started = False

        def on_step(name: str) -> None:
            nonlocal started
            progress.update(task, description=name, advance=1 if started else 0)
            started = True

        yield on_step
        progress.update(task, completed=total_steps)
