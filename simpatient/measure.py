"""Figures for the benchmarks: percentiles of a sample, and what the process used."""

import resource
import statistics
import time
from collections.abc import Iterable
from dataclasses import dataclass


def percentiles(values: Iterable[float | None]) -> dict[str, float | int]:
    """n, p50 and p95 (nearest rank) of the values that are not None."""
    data = sorted(v for v in values if v is not None)
    if not data:
        return {"n": 0}
    p95 = data[min(len(data) - 1, round(0.95 * (len(data) - 1)))]
    return {"n": len(data), "p50": round(statistics.median(data), 3), "p95": round(p95, 3)}


@dataclass
class Usage:
    """CPU and memory of this process over an interval: start it, run, read it."""

    wall0: float = 0.0
    cpu0: float = 0.0

    def start(self) -> "Usage":
        self.wall0, self.cpu0 = time.monotonic(), time.process_time()
        return self

    def cpu_cores(self) -> float:
        """Mean cores busy (1.0 = one core flat out) since :meth:`start`."""
        wall = time.monotonic() - self.wall0
        return (time.process_time() - self.cpu0) / wall if wall > 0 else 0.0

    @staticmethod
    def peak_rss_gb() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
