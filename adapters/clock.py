"""The real clock: the system time in Asia/Ho_Chi_Minh."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from workflow.ports import Clock

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


class SystemClock(Clock):
    """Now, as the operating system tells it, in Vietnam's time zone."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(VIETNAM)
