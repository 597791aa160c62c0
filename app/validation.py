"""Field rules shared by the resolvers; each adds to a FieldErrors so all problems show at once."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from app.errors import FieldErrors
from app.k8s import names

MAX_REPLICAS = 1000  # the most replicas one workload may be given through the API
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SLUG = re.compile(r"^[a-z0-9-]+$")


def text(errors: FieldErrors, field: str, value: str | None, *, min_len: int = 1, max_len: int = 200) -> None:
    if value is None:
        return
    if len(value.strip()) < min_len:
        errors.add(field, "must not be empty" if min_len == 1 else f"must be at least {min_len} characters")
    elif len(value) > max_len:
        errors.add(field, f"must be at most {max_len} characters")


def email(errors: FieldErrors, field: str, value: str | None) -> None:
    if value is not None and (len(value) > 320 or not EMAIL.match(value)):
        errors.add(field, "must be a valid email address")


def slug(errors: FieldErrors, field: str, value: str | None) -> None:
    if value is None:
        return
    if not 3 <= len(value) <= 100:
        errors.add(field, "must be 3 to 100 characters")
    elif not SLUG.match(value):
        errors.add(field, "may contain only lowercase letters, digits and '-'")


def minimum(errors: FieldErrors, field: str, value: int | None, low: int) -> None:
    if value is not None and value < low:
        errors.add(field, f"must be at least {low}")


def one_of(errors: FieldErrors, field: str, value: str | None, allowed: tuple[str, ...] | frozenset[str]) -> None:
    if value is not None and value not in allowed:
        errors.add(field, f"must be one of {', '.join(sorted(allowed))}")


def slugify(name: str) -> str:
    slug_text = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return (slug_text or "tenant")[:90]


def kube_name(errors: FieldErrors, field: str, value: object, kind: str) -> None:
    """A name Kubernetes accepts for an object of ``kind`` (``app.k8s.names``)."""
    problem = names.problem(value, names.rule_for(kind))
    if problem is not None:
        errors.add(field, problem)


def kube_label(errors: FieldErrors, field: str, value: object) -> None:
    """A DNS-1123 label: a namespace, an API version, a container's name."""
    problem = names.problem(value, names.LABEL)
    if problem is not None:
        errors.add(field, problem)


def kube_namespace(errors: FieldErrors, field: str, value: object) -> None:
    """A namespace's name; None (no namespace given) is left to the caller."""
    if value is not None:
        kube_label(errors, field, value)


def kube_object(errors: FieldErrors, kind: str, namespace: str | None, name: object) -> None:
    """The ``namespace`` and ``name`` arguments that address one object of ``kind``."""
    kube_namespace(errors, "namespace", namespace)
    kube_name(errors, "name", name, kind)


def replicas(errors: FieldErrors, field: str, value: object) -> None:
    """A replica count: a whole number from 0 to ``MAX_REPLICAS``."""
    if isinstance(value, bool) or not isinstance(value, int):
        errors.add(field, "must be a whole number")
    elif not 0 <= value <= MAX_REPLICAS:
        errors.add(field, f"must be between 0 and {MAX_REPLICAS}")


Model = TypeVar("Model", bound=BaseModel)


def validated(model: type[Model], data: Mapping[str, Any]) -> Model:
    """`data` checked by a pydantic model whose rules are declarative; every problem is reported
    at once as BAD_USER_INPUT, each under the GraphQL name of its field (camelCase, dotted)."""
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        errors = FieldErrors()
        for problem in exc.errors(include_url=False, include_input=False):
            path = ".".join(_camel(str(part)) for part in problem["loc"]) or "input"
            errors.add(path, str(problem["msg"]).removeprefix("Value error, "))
        errors.raise_if_any()
        raise  # unreachable: a ValidationError has at least one problem


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
