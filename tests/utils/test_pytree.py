"""``ember.utils._pytree``: flatten, unflatten and map over nested containers, as PyTorch does."""

import collections

import pytest

import ember
from ember.utils import _pytree as pytree
from tests.helpers import torch_or_skip

Point = collections.namedtuple("Point", "x y")

CASES = {
    "flatten": lambda p: p.tree_flatten([1, None, (2, {"b": 3, "a": 4})])[0],
    "leaf": lambda p: (p.tree_leaves(None), p.tree_flatten(5)[0]),
    "namedtuple": lambda p: p.tree_unflatten([9, 8, 7], p.tree_structure(Point(1, [2, 3]))),
    "map_two": lambda p: p.tree_map(lambda a, b: a + b, {"x": 1, "y": [2]}, {"x": 10, "y": [20]}),
    "map_only": lambda p: p.tree_map_only(int, lambda a: a * 2, [1, "a", 2.0]),
    "structure_eq": lambda p: (
        p.tree_structure([1, 2]) == p.tree_structure([3, 4]),
        p.tree_structure([1, 2]) == p.tree_structure((3, 4)),
    ),
    "all_any": lambda p: (p.tree_all(lambda x: x > 0, [1, 2]), p.tree_any(lambda x: x > 1, (1, 2))),
    "is_leaf": lambda p: p.tree_flatten([1, [2, 3]], is_leaf=lambda x: isinstance(x, list) and x[:1] == [2])[
        0
    ],
    "ordered_dict": lambda p: p.tree_map(lambda v: v + 1, collections.OrderedDict(a=1, b=2)),
    "defaultdict": lambda p: dict(p.tree_map(lambda v: v + 1, collections.defaultdict(list, a=1))),
    "deque": lambda p: p.tree_map(lambda v: v + 1, collections.deque([1, 2], maxlen=3)),
    "num_nodes": lambda p: (
        p.tree_structure({"a": [1, 2], "b": 3}).num_nodes,
        p.tree_structure([1, (2,)]).num_leaves,
    ),
    "deeper_rest": lambda p: p.tree_map(lambda a, b: (a, b), [1, 2], [[5, 6], {"k": 7}]),
    "map_in_place": lambda p: (lambda seen: (p.tree_map_(seen.append, [1, (2, 3)]), seen)[1])([]),
}


@pytest.mark.parametrize("name", CASES)
def test_matches_pytorch(name):
    torch_or_skip()
    import torch.utils._pytree as theirs

    assert CASES[name](pytree) == CASES[name](theirs)


def test_round_trip_and_errors():
    leaves, spec = pytree.tree_flatten({"a": [1, 2], "b": (3, None)})
    assert leaves == [1, 2, 3, None]
    assert pytree.tree_unflatten([10, 20, 30, None], spec) == {"a": [10, 20], "b": (30, None)}
    assert CASES["namedtuple"](pytree) == Point(9, [8, 7])
    with pytest.raises(
        ValueError, match="`leaves` has length 1 but the spec refers to a pytree that holds 2"
    ):
        pytree.tree_unflatten([1], pytree.tree_structure([1, 2]))
    with pytest.raises(ValueError, match="Node arity mismatch; expected 2, but got 1"):
        pytree.tree_map(lambda a, b: a, [1, 2], [1])


def test_tensors_and_registered_nodes():
    doubled = pytree.tree_map(lambda t: t * 2, {"a": ember.ones(2), "b": [ember.zeros(1), 3]})
    assert doubled["a"].tolist() == [2.0, 2.0] and doubled["b"][1] == 6

    class Pair:
        def __init__(self, x, y):
            self.x, self.y = x, y

    pytree.register_pytree_node(Pair, lambda q: ([q.x, q.y], None), lambda c, _: Pair(*c))
    tripled = pytree.tree_map(lambda v: v * 3, [Pair(1, 2)])
    assert (tripled[0].x, tripled[0].y) == (3, 6)
    with pytest.raises(ValueError, match="already registered"):
        pytree.register_pytree_node(Pair, lambda q: ([], None), lambda c, _: Pair(0, 0))
    assert ember.utils._pytree is pytree
