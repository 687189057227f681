"""Site-search draws spread over a Dask cluster: a local one started for the run, or one already running.

Each worker receives the site follower once (with the analysis stripped to what a site
search needs: sub-scores of the eligible cells, the grid and the site rules) and ranks the
base sites for a chunk of weight draws; the chunks come back in draw order, so the answer
does not depend on the cluster.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from geo.errors import ConfigError
from geo.ranker import Ranker

if TYPE_CHECKING:
    from dask.distributed import Client

log = logging.getLogger(__name__)


class SiteFollower(Ranker, Protocol):
    """What a worker needs of :class:`geo.sitesearch.SiteFollower`: its analysis and its ranks."""

    analysis: Any


#: The ``scheduler`` that starts a Dask ``LocalCluster`` on this machine for the draws.
LOCAL_CLUSTER = "local"
#: Seconds to wait for a Dask scheduler to answer before giving up.
SCHEDULER_TIMEOUT_S = 10.0
#: Chunks of draws per worker: enough to balance the load, few enough to keep overhead low.
CHUNKS_PER_WORKER = 4


def ranks_on_cluster(follower: SiteFollower, criteria: list[str], draw_weights: np.ndarray, scheduler: str, *,
                     workers: int = 1, on_draw: Callable[[int, int], None] | None = None,
                     timeout_s: float = SCHEDULER_TIMEOUT_S) -> np.ndarray:
    """Ranks of the base sites for every row of ``draw_weights``, computed on a Dask cluster.

    Parameters
    ----------
    follower
        Follows the base sites through each new site search.
    criteria
        Criterion names, in the column order of ``draw_weights``.
    draw_weights
        One set of weights per row.
    scheduler
        :data:`LOCAL_CLUSTER` to start a ``LocalCluster`` of ``workers`` processes, or the
        address of a running scheduler.
    workers
        Worker processes of a local cluster (ignored for an address).
    on_draw
        Called as ``on_draw(done, total)`` as chunks of draws finish.
    timeout_s
        How long a scheduler address may take to answer.

    Returns
    -------
    numpy.ndarray
        Ranks of shape ``(draws, sites)`` in draw order; inf = not a site.

    Raises
    ------
    ConfigError
        The scheduler did not answer within ``timeout_s``.
    """
    from dask.distributed import as_completed

    draws = len(draw_weights)
    out = np.empty((draws, follower.n_sites))
    with _client(scheduler, workers, timeout_s) as client:
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        chunks = np.array_split(draw_weights, min(draws, n_workers * CHUNKS_PER_WORKER))
        starts = np.cumsum([0] + [len(chunk) for chunk in chunks[:-1]])
        shared = client.scatter(_portable(follower), broadcast=True)
        futures = [client.submit(_chunk_ranks, shared, criteria, chunk, pure=False) for chunk in chunks]
        where = {future.key: (start, len(chunk)) for future, start, chunk in zip(futures, starts, chunks, strict=True)}
        done = 0
        for future, ranks in as_completed(futures, with_results=True):
            start, size = where[future.key]
            out[start:start + size] = ranks
            done += size
            if on_draw:
                on_draw(done, draws)
    return out


@contextmanager
def _client(scheduler: str, workers: int, timeout_s: float) -> Iterator[Client]:
    """A client of a new local cluster or of the scheduler at an address, closed on leaving."""
    from dask.distributed import Client, LocalCluster

    if scheduler == LOCAL_CLUSTER:
        with LocalCluster(n_workers=max(1, workers), threads_per_worker=1, processes=True,
                          dashboard_address=":0") as cluster, Client(cluster) as client:
            log.info("Dask local cluster of %d workers, dashboard %s", workers, client.dashboard_link)
            yield client
        return
    try:
        client = Client(scheduler, timeout=timeout_s)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ConfigError(f"Dask scheduler {scheduler!r} did not answer within {timeout_s:g} s ({exc}); "
                          f"check the address, or use {LOCAL_CLUSTER!r} for a cluster on this machine") from exc
    with client:
        log.info("Dask scheduler %s, dashboard %s", scheduler, client.dashboard_link)
        yield client


def _portable(follower: SiteFollower) -> SiteFollower:
    """A copy of the follower whose analysis leaves out what a site search never reads (raw values, layers)."""
    slim = object.__new__(type(follower))
    slim.__dict__.update(follower.__dict__)
    slim.analysis = dataclasses.replace(follower.analysis, raw={}, layers={})
    return slim


def _chunk_ranks(follower: SiteFollower, criteria: list[str], rows: np.ndarray) -> np.ndarray:
    """Ranks of the base sites for each weight vector of ``rows`` (runs on a Dask worker)."""
    return np.stack([follower.ranks(dict(zip(criteria, row.tolist(), strict=True)))[0] for row in rows])
