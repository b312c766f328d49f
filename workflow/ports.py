"""Ports: the small abstract classes through which the core reaches the outside world.

``adapters`` implements them; tests subclass them with fakes.
"""

from __future__ import annotations

import abc
import datetime as dt


class Clock(abc.ABC):
    """Where the engine gets the current instant. Always timezone-aware."""

    @abc.abstractmethod
    def now(self) -> dt.datetime:
        """The current instant, timezone-aware."""
