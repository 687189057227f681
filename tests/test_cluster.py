"""Choosing the engine from a memory estimate, and the faults of a Dask cluster."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import dask
import pytest
from affine import Affine
from click.testing import CliRunner

import geo.cluster as cluster
from geo.cli import cli
from geo.cluster import choose_engine, dask_client, run_chunked
from geo.errors import ClusterError, ConfigError
from geo.grid import Grid, analysis_memory_bytes
from geo.pipeline import resolve

GB = 1_000_000_000
#: The three states at 30 m: 1.45 billion cells.
THIRTY_M = Grid(Affine(30, 0, -2_040_000, 0, -30, 2_400_000), 40_000, 36_250)


def test_estimate_bounds_the_measured_peaks() -> None:
    assert 0.75 * GB < analysis_memory_bytes(21_000_000, 9) < 1.5 * GB
    assert 3.7 * GB < analysis_memory_bytes(159_000_000, 9) < 6 * GB


def test_auto_keeps_memory_when_it_fits_and_goes_to_dask_when_not() -> None:
    small = Grid(Affine(250, 0, 0, 0, -250, 0), 1000, 1000)
    assert choose_engine("auto", small, 9, available_bytes=16 * GB).engine == "memory"
    choice = choose_engine("auto", THIRTY_M, 9, available_bytes=16 * GB)
    assert choice.engine == "dask"
    assert "1,450,000,000 cells" in choice.describe() and "GB" in choice.describe()
    assert choose_engine("auto", small, 9, available_bytes=16 * GB, scheduler="tcp://x:1").engine == "dask"


def test_forced_memory_is_refused_with_the_estimate() -> None:
    with pytest.raises(ConfigError, match=r"needs about 3\d\.\d GB.*--engine dask"):
        choose_engine("memory", THIRTY_M, 9, available_bytes=16 * GB)
    assert choose_engine("dask", THIRTY_M, 9, available_bytes=16 * GB).engine == "dask"
    with pytest.raises(ConfigError, match="engine must be one of"):
        choose_engine("gpu", THIRTY_M, 9)  # type: ignore[arg-type]


def test_cli_refuses_forced_memory_before_any_work(demo_store, monkeypatch) -> None:
    monkeypatch.setattr(cluster.psutil, "virtual_memory", lambda: SimpleNamespace(available=10_000_000))
    start = time.perf_counter()
    result = CliRunner().invoke(cli, ["rank", "--store", str(demo_store.root), "--engine", "memory", "-q"])
    assert result.exit_code == 3, result.output
    assert "GB" in result.output and "--engine dask" in result.output
    assert time.perf_counter() - start < 10


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_silent_scheduler_gives_a_clear_error_within_seconds() -> None:
    address = f"tcp://127.0.0.1:{_free_port()}"
    start = time.perf_counter()
    with pytest.raises(ConfigError, match=r"did not answer within 2 s"), dask_client(address, timeout_s=2):
        pass
    assert time.perf_counter() - start < 10


def test_cli_names_the_scheduler_from_the_environment(demo_store, tmp_path: Path, monkeypatch) -> None:
    address = f"tcp://127.0.0.1:{_free_port()}"
    monkeypatch.setenv(cluster.SCHEDULER_ENV, address)
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 2.0)
    start = time.perf_counter()
    result = CliRunner().invoke(cli, ["run", "--store", str(demo_store.root), "--runs-dir", str(tmp_path / "runs"),
                                      "-q"])
    assert result.exit_code == 3, result.output
    assert address in result.output and "did not answer" in result.output
    assert time.perf_counter() - start < 30
    assert not (tmp_path / "runs" / "LATEST").exists()


def test_a_worker_killed_mid_run_fails_cleanly(demo_store, tmp_path: Path) -> None:
    config, store = resolve(None, demo_store)
    runs = tmp_path / "runs"
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), dask_client(workers=1) as client:
        pids = list(client.run(os.getpid).values())

        def kill_when_busy() -> None:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if any(client.processing().values()):
                    time.sleep(0.2)
                    for pid in pids:
                        os.kill(pid, signal.SIGKILL)
                    return
                time.sleep(0.02)

        killer = threading.Thread(target=kill_when_busy)
        killer.start()
        try:
            with pytest.raises(ClusterError, match="lost the work"):
                run_chunked(config, store, client=client, runs_dir=runs, tile_size=64)
        finally:
            killer.join()
    assert not (runs / "LATEST").exists()
    assert [p.name for p in runs.iterdir()] == [], "no run folder, staging or work folder is left"
