from pathlib import Path

from metakb.bench.ingest import ingest_markdown, measure_ingest
from tests.conftest import TINY_COUNTS


def test_ingest_benchmark_smoke(tiny_data: Path) -> None:
    result = measure_ingest(tiny_data, repeats=2)
    assert len(result["seconds"]) == 2 and all(s > 0 for s in result["seconds"])
    assert result["added"]["evaluations"] == TINY_COUNTS["evaluations"]
    assert result["evaluations_per_second"] > 0
    report = ingest_markdown(result)
    assert "evaluations per second" in report and f"{TINY_COUNTS['evaluations']}" in report
