"""OpenTelemetry traces: one OTLP/HTTP exporter configured by settings (off when
`otlp_endpoint` is unset), and the W3C carrier that takes a trace across Ray actor calls.

Serve replicas get their tracer provider from Ray Serve itself (`serve_span_processors` is its
exporter hook, so the proxy → gateway → service hops are Serve's own spans); plain actors
(shards, relay, consumers, the worker host) call `configure_tracing` once at start.

Prometheus: the stack's Python processes on a node (the ingress replicas and the named actors)
run prometheus_client in its multiprocess mode. Each writes its samples to a file in one
directory of the node (`Settings.metrics_samples_dir`, named by the env var set on the
deployment and the actors), and the gateway's `/metrics`, whichever replica answers it, sums
the files: a replica's own registry would make the counters jump between replicas from one
scrape to the next, and the actors' counters (a Redis fail-open in a shard) would not be
scraped at all."""

import os
from collections.abc import Sequence
from pathlib import Path

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from prometheus_client import CollectorRegistry, generate_latest, multiprocess

from core.settings import Settings, get_settings

tracer = trace.get_tracer("smartcourse")
SAMPLES_DIR = "PROMETHEUS_MULTIPROC_DIR"


def samples_environment(settings: Settings) -> dict[str, str]:
    """The env var that puts a process's Prometheus samples in its node's directory."""
    return {SAMPLES_DIR: str(settings.metrics_samples_dir())}


def make_samples_dir() -> None:
    """Each process at its start: the directory must exist before its first sample, and on a
    cluster nothing else makes it on that node."""
    if directory := os.environ.get(SAMPLES_DIR):
        Path(directory).mkdir(parents=True, exist_ok=True)


def exposition() -> bytes:
    """The Prometheus text of every process of this node (this process alone when it runs
    without the directory)."""
    directory = os.environ.get(SAMPLES_DIR)
    if not directory:
        return generate_latest()
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)
    return generate_latest(registry)


def span_processors(settings: Settings) -> list[SpanProcessor]:
    if not settings.otlp_endpoint:
        return []
    return [BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.otlp_endpoint))]


def serve_span_processors() -> list[SpanProcessor]:
    """Ray Serve's `TracingConfig.exporter_import_path` hook, called in each Serve process."""
    return span_processors(get_settings())


def tracer_provider(settings: Settings, service: str) -> TracerProvider | None:
    """A tracer provider exporting as `service`; None without an endpoint."""
    processors = span_processors(settings)
    if not processors:
        return None
    provider = TracerProvider(
        resource=Resource.create({SERVICE_NAME: service}),
        sampler=ParentBased(TraceIdRatioBased(settings.trace_sample_ratio)),
    )
    for processor in processors:
        provider.add_span_processor(processor)
    return provider


def configure_tracing(settings: Settings, service: str) -> None:
    """Install this process's tracer provider; a no-op without an endpoint."""
    provider = tracer_provider(settings, service)
    if provider is not None:
        trace.set_tracer_provider(provider)


def service_tracer(settings: Settings, service: str) -> trace.Tracer:
    """A tracer of its own service name, for one of several services sharing a process (the
    consumer groups of the events actor); the process's tracer without an endpoint."""
    provider = tracer_provider(settings, service)
    return tracer if provider is None else provider.get_tracer("smartcourse")


def current_carrier() -> dict[str, str]:
    """The current trace context as W3C headers (empty when nothing is being traced)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def context_from(carrier: dict[str, str] | None) -> Context | None:
    return propagate.extract(carrier) if carrier else None


def trace_headers(carrier: dict[str, str] | None) -> list[tuple[str, bytes]]:
    """A trace carrier as Kafka message headers."""
    return [(key, value.encode()) for key, value in (carrier or {}).items()]


def context_from_headers(headers: Sequence[tuple[str, bytes]] | None) -> Context | None:
    return context_from({key: value.decode(errors="replace") for key, value in headers or ()})
