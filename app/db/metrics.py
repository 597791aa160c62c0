"""The embedded metrics store's tables: series, and samples kept as one row per cluster and moment.

A sample row holds every series of its cluster at that moment as two packed arrays (the series'
IDs as unsigned 32-bit integers, their values as 64-bit floats, both little-endian), so sampling
a cluster of thousands of pods writes one row, not thousands. ``step`` is 0 for raw samples and
the roll-up's width in seconds (300) for rolled-up ones.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models import Base, TenantOwned
from app.db.types import utcnow


class MetricSeries(TenantOwned, Base):
    """One time series of one cluster: a metric name and its labels."""

    __tablename__ = "metric_series"
    __table_args__ = (UniqueConstraint("cluster_id", "key", name="uq_metric_series_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    cluster_id: Mapped[str] = mapped_column(ForeignKey("clusters.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    key: Mapped[str] = mapped_column(String(1000))  # name{label="value",...}, labels sorted
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MetricSample(TenantOwned, Base):
    """Every series of one cluster at one moment (raw), or averaged over a roll-up window."""

    __tablename__ = "metric_samples"
    __table_args__ = (
        UniqueConstraint("cluster_id", "step", "at", name="uq_metric_samples_moment"),
        Index("ix_metric_samples_range", "cluster_id", "step", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    cluster_id: Mapped[str] = mapped_column(ForeignKey("clusters.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column()
    step: Mapped[int] = mapped_column(Integer, default=0)
    series: Mapped[bytes] = mapped_column(LargeBinary)
    values: Mapped[bytes] = mapped_column(LargeBinary)
