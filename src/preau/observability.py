"""JSON log lines on standard error, one per event, with the request id when there is one;
per-route request counts and latencies for ``/metrics``."""

from __future__ import annotations

import bisect
import logging
import math
import sys
import time
from collections.abc import Iterator

import msgspec
from prometheus_client import REGISTRY
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return msgspec.json.encode(entry, enc_hook=str).decode()


def configure_logging(*, json_lines: bool, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if json_lines else logging.Formatter("%(levelname)s %(name)s %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # One line per request comes from preau.access; the servers' own access logs are off.
    logging.getLogger("uvicorn.access").disabled = True


LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_BOUNDS: tuple[float, ...] = (*LATENCY_BUCKETS, math.inf)


class RequestStats(Collector):
    """Requests by route and status, and their latencies, counted with plain numbers (a
    request adds to one list found by one look-up; no lock, since one event loop runs a
    process's requests) and turned into Prometheus metrics only when ``/metrics`` is
    scraped."""

    def __init__(self) -> None:
        # (method, route, status) -> [count per bucket..., +Inf count, sum of seconds]
        self.rows: dict[tuple[str, str, int], list[float]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        row = self.rows.get(key)
        if row is None:
            row = self.rows[key] = [0.0] * (len(LATENCY_BUCKETS) + 2)
        row[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
        row[-1] += seconds

    def count(self, method: str, route: str, status: int) -> int:
        row = self.rows.get((method, route, status))
        return 0 if row is None else int(sum(row[:-1]))

    def collect(self) -> Iterator[CounterMetricFamily | HistogramMetricFamily]:
        counter = CounterMetricFamily(
            "preau_http_requests",
            "HTTP requests by route template and status.",
            labels=["method", "route", "status"],
        )
        by_route: dict[tuple[str, str], list[float]] = {}
        for (method, route, status), row in list(self.rows.items()):
            counter.add_metric([method, route, str(status)], sum(row[:-1]))
            total = by_route.setdefault((method, route), [0.0] * len(row))
            for index, value in enumerate(row):
                total[index] += value
        yield counter
        histogram = HistogramMetricFamily(
            "preau_http_request_seconds",
            "HTTP request latency by route template.",
            labels=["method", "route"],
        )
        for (method, route), row in by_route.items():
            cumulative, buckets = 0.0, []
            for bound, in_bucket in zip(_BOUNDS, row, strict=False):
                cumulative += in_bucket
                buckets.append(("+Inf" if math.isinf(bound) else repr(bound), cumulative))
            histogram.add_metric([method, route], buckets, sum_value=row[-1])
        yield histogram


REQUEST_STATS = RequestStats()
REGISTRY.register(REQUEST_STATS)
