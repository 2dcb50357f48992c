"""The course and catalog cache's lookups, read from the `smartcourse_cache_requests` counter
(serve/courses.py) that Ray exports in Prometheus text on the metrics export port."""

import re
import time
from collections import Counter

import httpx

from core.settings import Settings

SAMPLE = re.compile(
    r"^ray_smartcourse_cache_requests(?:_total)?\{(?P<labels>[^}]*)\} (?P<value>\S+)"
)
LABEL = re.compile(r'(\w+)="([^"]*)"')
# Ray's workers report their metrics to the exporter every few seconds (10 s by default).
SETTLE_SECONDS, SETTLE_TIMEOUT_SECONDS = 12.0, 60.0


def cache_lookups(settings: Settings) -> Counter[tuple[str, str]]:
    """Lookups so far by (cache, result); empty before the first one was exported."""
    url = f"http://127.0.0.1:{settings.ray_metrics_export_port}/metrics"
    counts: Counter[tuple[str, str]] = Counter()
    for line in httpx.get(url, timeout=10).text.splitlines():
        sample = SAMPLE.match(line)
        if sample is not None:
            labels = dict(LABEL.findall(sample["labels"]))
            counts[(labels.get("cache", "?"), labels.get("result", "?"))] += float(sample["value"])
    return counts


def settled_cache_lookups(settings: Settings) -> Counter[tuple[str, str]]:
    """The counts once they have stopped changing for SETTLE_SECONDS (every lookup of the run
    has been exported), or after SETTLE_TIMEOUT_SECONDS."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_SECONDS
    last, since = cache_lookups(settings), time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - since < SETTLE_SECONDS:
        time.sleep(2)
        now = cache_lookups(settings)
        if now != last:
            last, since = now, time.monotonic()
    return last
