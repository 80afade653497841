"""The operator's chart, pure: one sample per interval at most, a ring of the last ones,
and an SVG whose lines follow the figures and whose labels are escaped."""

from __future__ import annotations

from preau.gate.samples import GateSamples, Sample, chart_svg

LABELS = {
    "active": "inside",
    "waiting": "<waiting>",
    "capacity": "capacity",
    "rate": "admissions per second",
    "now": "now",
    "ago": "{minutes} min ago",
    "ago_seconds": "{seconds} s ago",
    "empty": "nothing yet",
}


def test_one_sample_per_interval_and_only_the_last_ones_kept() -> None:
    samples = GateSamples(every_s=10.0, kept=3)
    for second in range(0, 60, 5):
        samples.record(Sample(float(second), second, 100, 0, 1.0))
    assert [sample.at for sample in samples.recent()] == [30.0, 40.0, 50.0]


def test_the_chart_draws_every_series_with_the_latest_values() -> None:
    assert "nothing yet" in chart_svg([Sample(0.0, 1, 10, 0, 1.0)], title="t", labels=LABELS)
    history = [Sample(0.0, 10, 50, 0, 5.0), Sample(600.0, 50, 50, 30, 2.5)]
    svg = chart_svg(history, title="Gate & co", labels=LABELS)
    assert svg.count("<polyline") == 4
    assert "inside: 50" in svg
    assert "&lt;waiting&gt;: 30" in svg
    assert "admissions per second: 2.5" in svg
    assert "10 min ago" in svg
    assert "Gate &amp; co" in svg
    assert 'stroke-dasharray="6 4"' in svg  # waiting told by its dash, not colour alone
    recent = chart_svg(
        [Sample(0.0, 1, 5, 0, 1.0), Sample(20.0, 2, 5, 0, 1.0)], title="t", labels=LABELS
    )
    assert "20 s ago" in recent
