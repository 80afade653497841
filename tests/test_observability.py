"""Request counts and latencies, kept as plain numbers and exposed in Prometheus's format."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from preau.observability import RequestStats


def test_requests_are_counted_by_route_and_status_with_cumulative_latency_buckets() -> None:
    stats = RequestStats()
    registry = CollectorRegistry()
    registry.register(stats)
    for seconds in (0.0005, 0.001, 0.3, 7.0):
        stats.observe("GET", "/todo", 200, seconds)
    stats.observe("POST", "/login", 303, 0.2)
    text = generate_latest(registry).decode()
    assert 'preau_http_requests_total{method="GET",route="/todo",status="200"} 4.0' in text
    assert 'preau_http_requests_total{method="POST",route="/login",status="303"} 1.0' in text
    bucket = 'preau_http_request_seconds_bucket{{le="{}",method="GET",route="/todo"}} {}'
    assert bucket.format("0.001", "2.0") in text  # 1 ms itself counts as "≤ 1 ms"
    assert bucket.format("0.25", "2.0") in text
    assert bucket.format("0.5", "3.0") in text
    assert bucket.format("+Inf", "4.0") in text
    assert 'preau_http_request_seconds_count{method="GET",route="/todo"} 4.0' in text
    assert 'preau_http_request_seconds_sum{method="GET",route="/todo"} 7.3015' in text
