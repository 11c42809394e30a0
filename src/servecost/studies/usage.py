"""From daily users to the concurrent streams a fleet must hold at the daily peak.

    requests/day   = DAU * sessions/day * requests/session
    mean streams   = requests/day * t_request / 86,400        (Little's law; t_request = O / speed)
    peak streams   = mean streams * peak/mean                 (the fleet is sized for the peak)
    load           = 1 / (peak/mean)                          (the fleet's average use over the day)
"""

import math
from dataclasses import asdict, dataclass

from ..units import DAY_S


@dataclass(frozen=True)
class Usage:
    daily_users: int
    sessions_per_day: float = 3.0        # estimate: a few chat sessions per active user per day
    requests_per_session: float = 5.0    # estimate: a handful of turns per session
    peak_to_mean: float = 2.0            # estimate: consumer traffic peaks at about twice its daily mean

    def requests_per_day(self) -> float:
        return self.daily_users * self.sessions_per_day * self.requests_per_session

    def peak_streams(self, output_tokens: int, speed_tokens_per_s: float) -> int:
        """Concurrent streams at the daily peak."""
        request_s = output_tokens / speed_tokens_per_s
        mean = self.requests_per_day() * request_s / DAY_S
        return max(1, math.ceil(mean * self.peak_to_mean))

    @property
    def load_frac(self) -> float:
        return 1 / self.peak_to_mean

    def as_dict(self) -> dict:
        return asdict(self) | {"requests_per_day": self.requests_per_day()}
