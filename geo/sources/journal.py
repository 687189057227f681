"""The journal of a refresh: which layers an unfinished run already stored, so a re-run resumes."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from geo.atomic import atomic_write_text
from geo.provenance import utc_now

log = logging.getLogger(__name__)


class Journal:
    """Layers already stored by an earlier, unfinished run of the same command."""

    def __init__(self, path: Path, key: str, started: datetime, done: dict[str, dict[str, Any]]) -> None:
        self.path, self.key, self.started, self.done = path, key, started, done

    @classmethod
    def open(cls, path: Path, max_age: timedelta, key: str) -> Journal:
        """The journal at ``path`` if it belongs to the same command (``key``) and is younger than ``max_age``.

        Parameters
        ----------
        path
            The journal file in the download cache.
        max_age
            An older journal is ignored and the run starts over.
        key
            Identifies the command: layers, states, directory and sources.

        Returns
        -------
        Journal
            The earlier run's journal, or an empty one starting now.
        """
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            started = datetime.fromisoformat(data["started"])
            fresh = datetime.now(UTC) - started < max_age
            if data.get("key") == key and fresh:
                log.info("resuming the refresh started at %s", started.isoformat())
                return cls(path, key, started, dict(data.get("done") or {}))
        except FileNotFoundError:
            pass
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring the unreadable refresh journal %s: %s", path, exc)
        return cls(path, key, utc_now(), {})

    def record(self, layer: str, source: str, features: int) -> None:
        """Note that ``layer`` was stored from ``source`` with ``features`` features (written atomically).

        Parameters
        ----------
        layer
            The canonical layer stored.
        source
            The id of the source it came from.
        features
            How many features were written.
        """
        self.done[layer] = {"source": source, "features": features}
        atomic_write_text(
            self.path,
            json.dumps({"key": self.key, "started": self.started.isoformat(), "done": self.done}, indent=1),
        )

    def close(self) -> None:
        """The run finished: forget it."""
        self.path.unlink(missing_ok=True)
