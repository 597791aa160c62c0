"""OpenTelemetry traces, off unless `FLEETGRAPH_OTEL_ENDPOINT` names an OTLP/HTTP collector.

On, it traces requests (ASGI), database statements (SQLAlchemy) and calls to clusters (aiohttp),
and gives a span to each resolver whose field costs at least `OTEL_RESOLVER_COST` (the cost
rule's measure, so cheap scalar fields do not flood the trace). Arguments and query text are
never recorded: they can hold passwords and tokens.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from inspect import isawaitable
from typing import Any

from graphql import GraphQLResolveInfo
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.middleware import Middleware
from strawberry.extensions import SchemaExtension

from app import __version__


@dataclass
class Tracing:
    """A tracer provider of this app's own (not the process-wide one), and what it instruments."""

    provider: TracerProvider
    resolver_cost: int

    @classmethod
    def start(cls, endpoint: str, resolver_cost: int) -> Tracing:
        resource = Resource.create({"service.name": "fleetgraph", "service.version": __version__})
        provider = TracerProvider(resource=resource)
        traces_url = endpoint.rstrip("/") + "/v1/traces"
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=traces_url)))
        AioHttpClientInstrumentor().instrument(tracer_provider=provider)
        return cls(provider, resolver_cost)

    def middleware(self) -> Middleware:
        """The ASGI instrumentation, to run outermost: a server span per request."""
        return Middleware(OpenTelemetryMiddleware, tracer_provider=self.provider, exclude_spans=["receive", "send"])

    def instrument_database(self, engine: AsyncEngine) -> None:
        # the instrumentation works with SQLAlchemy 2.1 (tested) but declares itself for < 2.1
        SQLAlchemyInstrumentor().instrument(engine=engine.sync_engine, tracer_provider=self.provider,
                                            skip_dep_check=True)  # fmt: skip

    def schema_extension(self) -> Callable[[], SchemaExtension]:
        tracer = trace.get_tracer("fleetgraph.graphql", tracer_provider=self.provider)
        return lambda: ResolverSpans(tracer, self.resolver_cost)

    def close(self) -> None:
        AioHttpClientInstrumentor().uninstrument()
        self.provider.shutdown()  # flushes what is still batched


class ResolverSpans(SchemaExtension):
    """A span for the operation, and one for each resolver whose field costs `threshold` or more."""

    def __init__(self, tracer: trace.Tracer, threshold: int) -> None:
        self.tracer = tracer
        self.threshold = threshold

    def on_operation(self) -> Generator[None, None, None]:
        with self.tracer.start_as_current_span("graphql operation", kind=SpanKind.INTERNAL) as span:
            yield
            ec = self.execution_context
            name = ec.operation_name or "anonymous"
            span.update_name(f"graphql {name}")
            span.set_attribute("graphql.operation.name", name)
            if ec.operation_type is not None:
                span.set_attribute("graphql.operation.type", ec.operation_type.value)
            span.set_attribute("graphql.cost", int((getattr(ec.context, "cost", {}) or {}).get("requested", 0)))

    async def resolve(self, _next: Callable[..., Any], root: Any, info: GraphQLResolveInfo, *args: Any,
                      **kwargs: Any) -> Any:  # fmt: skip
        coordinate = f"{info.parent_type.name}.{info.field_name}"
        costs: dict[str, int] = getattr(info.context, "field_costs", None) or {}
        if costs.get(coordinate, 0) < self.threshold:
            result = _next(root, info, *args, **kwargs)
            return await result if isawaitable(result) else result
        with self.tracer.start_as_current_span(f"resolve {coordinate}") as span:
            span.set_attribute("graphql.field.coordinate", coordinate)
            span.set_attribute("graphql.field.cost", costs[coordinate])
            result = _next(root, info, *args, **kwargs)
            return await result if isawaitable(result) else result
