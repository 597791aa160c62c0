"""How big a document is once its fragments are spread, measured without spreading them.

Each fragment is measured once, after the fragments it spreads, and a spread then adds the
fragment's measure: the work is linear in the document's size, however often fragments spread
each other (a document of 40 fragments that each spread the previous one twice is 2**40 fields
expanded, and about 200 selections to measure). A spread that closes a cycle counts as empty;
the standard validation reports the cycle.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)


@dataclass(frozen=True)
class Shape:
    """One selection set, expanded: its depth (as Strawberry's depth limiter counts it: fields
    with a selection set, introspection fields not counted), its aliases and its fields."""

    depth: int = 0
    aliases: int = 0
    fields: int = 0


EMPTY = Shape()


@dataclass
class DocumentShape:
    operations: list[tuple[str, Shape]] = field(default_factory=list)  # by name, "anonymous" without one
    fragments: dict[str, Shape] = field(default_factory=dict)
    spreads: int = 0  # fragment spreads written in the document
    visited: int = 0  # selections measured: each selection of the document once

    @property
    def aliases(self) -> int:
        return sum(shape.aliases for _, shape in self.operations)

    @property
    def expanded_fields(self) -> int:
        """Every definition is validated, fragments too, so each counts with its expansion."""
        operations = sum(shape.fields for _, shape in self.operations)
        return operations + sum(shape.fields for shape in self.fragments.values())


def measure(document: DocumentNode) -> DocumentShape:
    shape = DocumentShape()
    fragments = fragments_of(document)
    for name in fragment_order(fragments):
        shape.fragments[name] = _measure(fragments[name].selection_set, shape)
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            name = definition.name.value if definition.name else "anonymous"
            shape.operations.append((name, _measure(definition.selection_set, shape)))
    return shape


def fragments_of(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def fragment_order(fragments: dict[str, FragmentDefinitionNode]) -> list[str]:
    """The fragments' names, each after the fragments it spreads (but for those of a cycle)."""
    return list(_dependencies_first({name: _spread_names(f.selection_set) for name, f in fragments.items()}))


def _spread_names(selection_set: SelectionSetNode) -> list[str]:
    names: list[str] = []
    for selection in selection_set.selections:
        if isinstance(selection, FragmentSpreadNode):
            names.append(selection.name.value)
        elif isinstance(selection, FieldNode | InlineFragmentNode) and selection.selection_set:
            names += _spread_names(selection.selection_set)
    return names


def _dependencies_first(spreads: dict[str, list[str]]) -> Iterator[str]:
    """Fragment names, each after the fragments it spreads (a depth-first walk without recursion,
    so that a long chain of fragments cannot exhaust the stack)."""
    state: dict[str, bool] = {}  # False while on the walk's path, True once yielded
    for root in spreads:
        if root in state:
            continue
        state[root] = False
        path = [(root, iter(spreads[root]))]
        while path:
            name, pending = path[-1]
            following = next((n for n in pending if n in spreads and n not in state), None)
            if following is None:
                path.pop()
                state[name] = True
                yield name
            else:
                state[following] = False
                path.append((following, iter(spreads[following])))


def _measure(selection_set: SelectionSetNode, shape: DocumentShape) -> Shape:
    depth = aliases = fields = 0
    for selection in selection_set.selections:
        shape.visited += 1
        if isinstance(selection, FieldNode):
            inner = _measure(selection.selection_set, shape) if selection.selection_set else EMPTY
            if selection.selection_set and not selection.name.value.startswith("__"):
                depth = max(depth, 1 + inner.depth)
            aliases += inner.aliases + (1 if selection.alias else 0)
            fields += 1 + inner.fields
            continue
        if isinstance(selection, FragmentSpreadNode):
            shape.spreads += 1
            inner = shape.fragments.get(selection.name.value, EMPTY)
        elif isinstance(selection, InlineFragmentNode):
            inner = _measure(selection.selection_set, shape)
        else:
            continue
        depth, aliases, fields = max(depth, inner.depth), aliases + inner.aliases, fields + inner.fields
    return Shape(depth, aliases, fields)
