"""Nested containers as trees of leaves (``torch.utils._pytree``), which libraries written for
PyTorch use to map a function over every tensor in a batch or an output structure.

Lists, tuples, named tuples, dicts, OrderedDicts, defaultdicts and deques are nodes (dict keys
in insertion order); everything else, None included, is a leaf. More node types can be added
with ``register_pytree_node``.

>>> leaves, spec = tree_flatten({"a": [1, 2], "b": (3, None)})
>>> leaves
[1, 2, 3, None]
>>> tree_unflatten([x * 10 for x in leaves[:3]] + [None], spec)
{'a': [10, 20], 'b': (30, None)}
>>> tree_map(lambda x: x + 1, [1, (2, 3)])
[2, (3, 4)]
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

__all__ = [
    "LeafSpec",
    "PyTree",
    "TreeSpec",
    "register_pytree_node",
    "tree_all",
    "tree_all_only",
    "tree_any",
    "tree_any_only",
    "tree_flatten",
    "tree_is_leaf",
    "tree_iter",
    "tree_leaves",
    "tree_map",
    "tree_map_",
    "tree_map_only",
    "tree_structure",
    "tree_unflatten",
]

PyTree = Any


class NodeDef(NamedTuple):
    type: type
    flatten_fn: Callable[[Any], tuple[list, Any]]
    unflatten_fn: Callable[[list, Any], Any]


SUPPORTED_NODES: dict[type, NodeDef] = {}


def register_pytree_node(
    cls: type,
    flatten_fn: Callable[[Any], tuple[list, Any]],
    unflatten_fn: Callable[[list, Any], Any],
    *,
    serialized_type_name: str | None = None,
    to_dumpable_context=None,
    from_dumpable_context=None,
    flatten_with_keys_fn=None,
) -> None:
    """Make ``cls`` a node: ``flatten_fn(node) -> (children, context)`` and
    ``unflatten_fn(children, context) -> node``."""
    if cls in SUPPORTED_NODES:
        raise ValueError(f"{cls} is already registered as pytree node.")
    SUPPORTED_NODES[cls] = NodeDef(cls, flatten_fn, unflatten_fn)


def _is_namedtuple(obj) -> bool:
    return isinstance(obj, tuple) and hasattr(type(obj), "_fields")


register_pytree_node(list, lambda x: (list(x), None), lambda children, _: list(children))
register_pytree_node(tuple, lambda x: (list(x), None), lambda children, _: tuple(children))
register_pytree_node(dict, lambda x: (list(x.values()), list(x)), lambda c, keys: dict(zip(keys, c)))
register_pytree_node(
    collections.OrderedDict,
    lambda x: (list(x.values()), list(x)),
    lambda c, keys: collections.OrderedDict(zip(keys, c)),
)
register_pytree_node(
    collections.defaultdict,
    lambda x: (list(x.values()), (x.default_factory, list(x))),
    lambda c, context: collections.defaultdict(context[0], zip(context[1], c)),
)
register_pytree_node(
    collections.deque, lambda x: (list(x), x.maxlen), lambda c, maxlen: collections.deque(c, maxlen=maxlen)
)
_NAMEDTUPLE = NodeDef(tuple, lambda x: (list(x), type(x)), lambda children, cls: cls(*children))


def _node_def(tree) -> NodeDef | None:
    if _is_namedtuple(tree):
        return _NAMEDTUPLE
    return SUPPORTED_NODES.get(type(tree))


class TreeSpec:
    """The shape of a tree without its leaves: a node type, its context (dict keys, the named tuple
    class) and one spec per child."""

    def __init__(self, type: Any, context: Any, children_specs: list[TreeSpec]) -> None:  # noqa: A002
        self.type, self.context, self.children_specs = type, context, children_specs
        self.num_leaves: int = sum(child.num_leaves for child in children_specs)
        self.num_nodes: int = 1 + sum(child.num_nodes for child in children_specs)
        self.num_children: int = len(children_specs)

    def is_leaf(self) -> bool:
        return False

    def unflatten(self, leaves) -> PyTree:
        return tree_unflatten(leaves, self)

    def __eq__(self, other) -> bool:
        return (
            isinstance(other, TreeSpec)
            and type(self) is type(other)
            and (self.type, self.context, self.children_specs)
            == (other.type, other.context, other.children_specs)
        )

    def __hash__(self) -> int:
        return hash((self.type, repr(self.context), tuple(self.children_specs)))

    def __repr__(self) -> str:
        name = "namedtuple" if self.type is _NAMEDTUPLE.type and self.context.__class__ is type else None
        kind = name or getattr(self.type, "__name__", str(self.type))
        children = ", ".join(repr(c) for c in self.children_specs)
        return f"TreeSpec({kind}, {self.context}, [{children}])"


class LeafSpec(TreeSpec):
    """The spec of one leaf (``*``)."""

    def __init__(self) -> None:
        super().__init__(None, None, [])
        self.num_leaves, self.num_nodes = 1, 1

    def is_leaf(self) -> bool:
        return True

    def __repr__(self) -> str:
        return "*"


def tree_is_leaf(tree: PyTree, is_leaf: Callable[[PyTree], bool] | None = None) -> bool:
    """Whether ``tree`` is a leaf: not a registered node type, or so by ``is_leaf``."""
    return (is_leaf is not None and is_leaf(tree)) or _node_def(tree) is None


def tree_flatten(tree: PyTree, is_leaf: Callable[[PyTree], bool] | None = None) -> tuple[list, TreeSpec]:
    """The leaves of ``tree`` (depth first, left to right) and its spec."""
    leaves: list = []

    def walk(node) -> TreeSpec:
        if tree_is_leaf(node, is_leaf):
            leaves.append(node)
            return LeafSpec()
        node_def = _node_def(node)
        children, context = node_def.flatten_fn(node)
        node_type = type(node) if node_def is not _NAMEDTUPLE else _NAMEDTUPLE.type
        return TreeSpec(node_type, context, [walk(child) for child in children])

    spec = walk(tree)
    return leaves, spec


def tree_unflatten(leaves, treespec: TreeSpec) -> PyTree:
    """The tree of ``treespec``'s shape holding ``leaves``."""
    leaves = list(leaves)
    if len(leaves) != treespec.num_leaves:
        raise ValueError(
            f"treespec.unflatten(leaves): `leaves` has length {len(leaves)} but the spec refers to a "
            f"pytree that holds {treespec.num_leaves} items ({treespec})."
        )
    position = iter(leaves)

    def build(spec: TreeSpec):
        if spec.is_leaf():
            return next(position)
        children = [build(child) for child in spec.children_specs]
        if spec.type is _NAMEDTUPLE.type and isinstance(spec.context, type):
            return _NAMEDTUPLE.unflatten_fn(children, spec.context)
        return SUPPORTED_NODES[spec.type].unflatten_fn(children, spec.context)

    return build(treespec)


def tree_leaves(tree: PyTree, is_leaf: Callable[[PyTree], bool] | None = None) -> list:
    """The leaves of ``tree``."""
    return tree_flatten(tree, is_leaf)[0]


def tree_iter(tree: PyTree, is_leaf: Callable[[PyTree], bool] | None = None) -> Iterator:
    """An iterator over the leaves of ``tree``."""
    return iter(tree_leaves(tree, is_leaf))


def tree_structure(tree: PyTree, is_leaf: Callable[[PyTree], bool] | None = None) -> TreeSpec:
    """The spec of ``tree``."""
    return tree_flatten(tree, is_leaf)[1]


def _leaves_of_same_shape(spec: TreeSpec, other: PyTree, is_leaf) -> list:
    """The subtrees of ``other`` sitting where ``spec`` has leaves (other may go deeper there)."""
    if spec.is_leaf():
        return [other]
    node_def = _node_def(other)
    if node_def is None:
        raise ValueError(f"Expected a {spec.type.__name__} node, but got a leaf: {other!r}.")
    children, _ = node_def.flatten_fn(other)
    if len(children) != spec.num_children:
        raise ValueError(f"Node arity mismatch; expected {spec.num_children}, but got {len(children)}.")
    return [
        leaf
        for child_spec, child in zip(spec.children_specs, children)
        for leaf in _leaves_of_same_shape(child_spec, child, is_leaf)
    ]


def tree_map(
    func: Callable, tree: PyTree, *rests: PyTree, is_leaf: Callable[[PyTree], bool] | None = None
) -> PyTree:
    """``tree`` with ``func`` applied to every leaf (with the matching leaves of ``rests``)."""
    leaves, spec = tree_flatten(tree, is_leaf)
    others = [_leaves_of_same_shape(spec, rest, is_leaf) for rest in rests]
    return tree_unflatten([func(*values) for values in zip(leaves, *others)], spec)


def tree_map_(
    func: Callable, tree: PyTree, *rests: PyTree, is_leaf: Callable[[PyTree], bool] | None = None
) -> PyTree:
    """Calls ``func`` on every leaf for its effect; returns ``tree``."""
    leaves, spec = tree_flatten(tree, is_leaf)
    others = [_leaves_of_same_shape(spec, rest, is_leaf) for rest in rests]
    for values in zip(leaves, *others):
        func(*values)
    return tree


def _only(types, func: Callable) -> Callable:
    return lambda leaf: func(leaf) if isinstance(leaf, types) else leaf


def tree_map_only(
    types, func: Callable, tree: PyTree, is_leaf: Callable[[PyTree], bool] | None = None
) -> PyTree:
    """``tree_map`` applied only to the leaves that are instances of ``types``."""
    return tree_map(_only(types, func), tree, is_leaf=is_leaf)


def tree_all(
    pred: Callable[[Any], bool], tree: PyTree, is_leaf: Callable[[PyTree], bool] | None = None
) -> bool:
    """Whether ``pred`` holds for every leaf."""
    return all(map(pred, tree_iter(tree, is_leaf)))


def tree_any(
    pred: Callable[[Any], bool], tree: PyTree, is_leaf: Callable[[PyTree], bool] | None = None
) -> bool:
    """Whether ``pred`` holds for some leaf."""
    return any(map(pred, tree_iter(tree, is_leaf)))


def tree_all_only(types, pred: Callable[[Any], bool], tree: PyTree, is_leaf=None) -> bool:
    """Whether ``pred`` holds for every leaf that is an instance of ``types``."""
    return all(pred(leaf) for leaf in tree_iter(tree, is_leaf) if isinstance(leaf, types))


def tree_any_only(types, pred: Callable[[Any], bool], tree: PyTree, is_leaf=None) -> bool:
    """Whether ``pred`` holds for some leaf that is an instance of ``types``."""
    return any(pred(leaf) for leaf in tree_iter(tree, is_leaf) if isinstance(leaf, types))
