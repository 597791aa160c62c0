"""How long a string and how long a list a request may pass, in one place for every argument and
input field: literals are checked by a validation rule, variables' values before execution.

A place is named by its schema coordinate (`Query.tenants.search`, `RegisterClusterInput.kubeconfig`);
the few that carry whole documents (manifests, kubeconfigs, private keys) are allowed the larger
`max_document_length`. Inside a JSON argument every string and list counts, at the argument's
allowance, and values nest at most `MAX_NESTING` levels.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import (
    ArgumentNode,
    DirectiveNode,
    DocumentNode,
    GraphQLError,
    GraphQLInputType,
    GraphQLSchema,
    ListValueNode,
    Node,
    ObjectFieldNode,
    StringValueNode,
    TypeInfo,
    TypeInfoVisitor,
    ValidationRule,
    VariableDefinitionNode,
    VariableNode,
    Visitor,
    get_named_type,
    get_nullable_type,
    get_operation_ast,
    is_input_object_type,
    is_list_type,
    type_from_ast,
    visit,
)

from app.settings import Settings

# Places whose strings are whole documents: YAML or JSON manifests and patches, kubeconfigs, keys.
DOCUMENT_PLACES = frozenset(
    {
        "Mutation.applyManifest.yaml",
        "Mutation.createWorkload.manifest",
        "Mutation.updateWorkload.patch",
        "Mutation.patchResource.patch",
        "Mutation.discoverClusters.kubeconfig",
        "RegisterClusterInput.kubeconfig",
        "SshConfigInput.privateKey",
    }
)
MAX_NESTING = 64  # levels of lists and objects in one value (a Kubernetes object needs about 10)


@dataclass(frozen=True)
class InputLimits:
    max_string: int
    max_document: int
    max_list: int

    @classmethod
    def from_settings(cls, settings: Settings) -> InputLimits:
        return cls(settings.max_string_length, settings.max_document_length, settings.max_list_length)

    def string_limit(self, coordinate: str) -> int:
        return self.max_document if coordinate in DOCUMENT_PLACES else self.max_string


@dataclass(frozen=True)
class Place:
    coordinate: str  # the schema coordinate whose allowance applies
    field: str  # what the caller wrote: the argument, then input fields (`input.kubeconfig`)


def too_big(field: str, message: str, node: Node | None = None) -> GraphQLError:
    details = [{"field": field, "message": message}]
    return GraphQLError(f"{field}: {message}", node, extensions={"code": "BAD_USER_INPUT", "details": details})


class _Places:
    """Keeps the place of the literal being visited (a mixin of the two visitors below)."""

    places: list[Place]

    def types(self) -> Any:  # the TypeInfo, or the ValidationContext that wraps one
        raise NotImplementedError

    def enter_argument(self, node: ArgumentNode, _key: Any, _parent: Any, _path: Any, ancestors: list[Any]) -> None:
        owner = ancestors[-1]
        if isinstance(owner, DirectiveNode):
            coordinate = f"@{owner.name.value}.{node.name.value}"
        else:
            parent = self.types().get_parent_type()
            coordinate = f"{getattr(parent, 'name', '')}.{owner.name.value}.{node.name.value}"
        self.places.append(Place(coordinate, node.name.value))

    def leave_argument(self, *_: Any) -> None:
        self.places.pop()

    def enter_object_field(self, node: ObjectFieldNode, *_: Any) -> None:
        outer = self.places[-1] if self.places else Place("", "")
        parent = get_named_type(self.types().get_parent_input_type())
        coordinate = f"{parent.name}.{node.name.value}" if is_input_object_type(parent) else outer.coordinate
        self.places.append(Place(coordinate, f"{outer.field}.{node.name.value}".lstrip(".")))

    def leave_object_field(self, *_: Any) -> None:
        self.places.pop()


def input_size_rule(limits: InputLimits) -> type[ValidationRule]:
    """The rule for literals, bound to the limits (built once, so validation results are cached)."""

    class InputSizeRule(_Places, ValidationRule):
        def __init__(self, context: Any) -> None:
            super().__init__(context)
            self.places = []

        def types(self) -> Any:
            return self.context

        def enter_variable_definition(self, node: VariableDefinitionNode, *_: Any) -> None:
            self.places.append(Place("", f"${node.variable.name.value}"))  # its default value

        def leave_variable_definition(self, *_: Any) -> None:
            self.places.pop()

        def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
            place = self.places[-1] if self.places else Place("", "value")
            limit = limits.string_limit(place.coordinate)
            if len(node.value) > limit:
                self.report_error(too_big(place.field, f"must be at most {limit} characters", node))

        def enter_list_value(self, node: ListValueNode, *_: Any) -> None:
            if len(node.values) > limits.max_list:
                place = self.places[-1] if self.places else Place("", "value")
                self.report_error(too_big(place.field, f"must have at most {limits.max_list} items", node))

    return InputSizeRule


class _VariablePlaces(_Places, Visitor):
    def __init__(self, type_info: TypeInfo) -> None:
        super().__init__()
        self.type_info = type_info
        self.places = []
        self.found: dict[str, list[Place]] = {}

    def types(self) -> Any:
        return self.type_info

    def enter_variable(self, node: VariableNode, *_: Any) -> None:
        if self.places:  # not the variable's own definition
            self.found.setdefault(node.name.value, []).append(self.places[-1])


@lru_cache(maxsize=512)
def variable_places(schema: GraphQLSchema, document: DocumentNode) -> dict[str, tuple[Place, ...]]:
    """Where each variable is used in the document."""
    type_info = TypeInfo(schema)
    visitor = _VariablePlaces(type_info)
    visit(document, TypeInfoVisitor(type_info, visitor))
    return {name: tuple(places) for name, places in visitor.found.items()}


def variable_errors(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: dict[str, Any],
    limits: InputLimits,
) -> list[GraphQLError]:
    operation = get_operation_ast(document, operation_name)
    if operation is None or not variables:
        return []
    places = variable_places(schema, document)
    errors = []
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        declared = type_from_ast(schema, definition.type)
        if name not in variables or declared is None:
            continue
        uses = sorted(places.get(name, ()), key=lambda place: limits.string_limit(place.coordinate))
        place = uses[0] if uses else Place("", name)
        problem = _first_problem(variables[name], declared, place, limits)
        if problem is not None:
            errors.append(too_big(*problem, definition))
    return errors


def _first_problem(value: Any, declared: Any, place: Place, limits: InputLimits) -> tuple[str, str] | None:
    """(field, message) of the first string, list or nesting over its limit, walked without recursion."""
    pending: list[tuple[Any, Any, Place, int]] = [(value, declared, place, 0)]
    while pending:
        value, type_, place, depth = pending.pop()
        type_ = get_nullable_type(type_) if type_ is not None else None
        if depth > MAX_NESTING:
            return place.field, f"must not nest deeper than {MAX_NESTING} levels"
        if isinstance(value, str):
            limit = limits.string_limit(place.coordinate)
            if len(value) > limit:
                return place.field, f"must be at most {limit} characters"
        elif isinstance(value, list):
            if len(value) > limits.max_list:
                return place.field, f"must have at most {limits.max_list} items"
            item_type = type_.of_type if is_list_type(type_) else None
            pending.extend((item, item_type or type_, place, depth + 1) for item in value)
        elif isinstance(value, dict):
            if len(value) > limits.max_list:
                return place.field, f"must have at most {limits.max_list} entries"
            for key, item in value.items():
                inner, item_type = _input_field(type_, str(key), place)
                pending.append((item, item_type, inner, depth + 1))
    return None


def _input_field(type_: Any, key: str, outer: Place) -> tuple[Place, GraphQLInputType | None]:
    """The place and type of an input object's field; inside JSON, the JSON argument's place."""
    field = f"{outer.field}.{key}"
    if is_input_object_type(type_) and key in type_.fields:
        return Place(f"{type_.name}.{key}", field), type_.fields[key].type
    return Place(outer.coordinate, field), None
