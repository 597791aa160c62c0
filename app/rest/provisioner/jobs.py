"""The Provisioner's job paths: Fleetgraph's operations (provision, scale, upgrade, deprovision
and node work) with their phases, progress and log."""

from __future__ import annotations

from typing import Any

from app.rest.provisioner import vocabulary
from app.rest.provisioner.answers import ProvisionerJobDetails, ProvisionerJobView, listed
from app.rest.provisioner.caller import CALLER, in_tenant
from app.rest.rows import Call, Listing, Row

DOC = "jobs.graphql"
TAG = "Provisioner: jobs"


def job_view(value: dict[str, Any], _: Call) -> dict[str, Any]:
    job = {**value, "type": vocabulary.job_type(value["type"])}
    if "logs" in job:
        job["logs"] = [line["line"] for line in job["logs"]]
    return job


ROWS = [
    Row(
        "GET",
        "/api/v1/jobs",
        DOC,
        (CALLER, "ProvisionerJobs"),
        "List jobs",
        TAG,
        variables=in_tenant,
        pick="operations",
        listing=Listing("data"),
        shape=job_view,
        response=listed(ProvisionerJobView),
    ),
    Row(
        "GET",
        "/api/v1/jobs/{id}",
        DOC,
        ("ProvisionerJobDetails",),
        "Get job details",
        TAG,
        pick="operation",
        shape=job_view,
        response=ProvisionerJobDetails,
    ),
]
