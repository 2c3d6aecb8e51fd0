"""The flat fast path: one vectorised update over all the parameters of a group.

A step on many small tensors costs mostly per-tensor overhead. Here the elementwise state
entries of a group's parameters (same dtype and device) become views into flat buffers, and
scalar state entries views into one small array, so a step is: gather the parameters and
gradients into flat buffers (one concatenate each), run the optimizer's elementwise ``update``
over cache-sized chunks, copy the new values back into each parameter's own array, bump the
versions. Parameters keep their arrays, so memory shared with NumPy (``from_numpy``,
``.numpy()``) or with views of a parameter keeps seeing every update, as in PyTorch. ``update`` is the very code the
per-parameter path runs, so both give the same bits.

The layout is rebuilt whenever it no longer describes the group: parameters added or removed,
a parameter's array replaced (``p.data = ...``, ``module.to(...)``), state replaced
(``load_state_dict``) or a different set of parameters with gradients. The path steps aside
(returns False, and the caller takes the per-parameter path) when the state of the parameters
is not uniform: different step counts, different state entries, or dtypes that differ.
"""

from __future__ import annotations

from operator import is_
from typing import Any

from ember.backend import HOST_ARRAY, device_of, for_xp
from ember.cuda.graphs import is_current_stream_capturing
from ember.dtypes import is_floating_np
from ember.tensor import Tensor, make

__all__ = ["CHUNK", "FlatCache"]

#: the flat path pays for its gathering copies only when tensors are small on average: past this
#: many elements per tensor the per-parameter path is as fast (measured with bench/bench_optim.py)
FLAT_MAX_MEAN_NUMEL = 8192

#: elements per chunk of the flat update: big enough to amortise a ufunc call, small enough
#: that the chunk's arrays and temporaries stay in cache between the update's passes
CHUNK = 1 << 15


def scalar_values(group: dict[str, Any], arrays: dict[str, Any]) -> dict[str, Any]:
    """The scalar state ``advance`` works on: Python floats, or for a capturable optimizer the
    0-d device arrays themselves (no host read, so a captured step advances them on replay)."""
    if group.get("capturable", False):
        return dict(arrays)
    return {k: float(v) for k, v in arrays.items()}


class FlatBucket:
    """The flat layout of one group's parameters and state."""

    def __init__(self, opt, group: dict, params: list[Tensor]):
        xp = params[0].xp
        self.params = params
        self.states = [opt.state[p] for p in params]
        self.shapes = [p._data.shape for p in params]
        sizes = [p._data.size for p in params]
        self.total = sum(sizes)
        self.bounds = []
        start = 0
        for n in sizes:
            self.bounds.append((start, start + n))
            start += n
        dtype = params[0]._data.dtype
        self.param_arrays = [p._data for p in params]
        self.flat = xp.empty(self.total, dtype)
        self.views = [self.flat[a:b].reshape(s) for (a, b), s in zip(self.bounds, self.shapes)]
        self.grad = xp.empty(self.total, dtype)
        self.arrays: dict[str, object] = {}
        self.array_views: dict[str, list] = {}
        self.scalars: dict[str, object] = {}
        self.scalar_views: dict[str, list] = {}
        first = self.states[0]
        for key, value in first.items():
            if key in opt.scalar_state:
                arr = value._data.reshape(1).repeat(len(params))
                self.scalars[key] = arr
                views = [arr[i : i + 1].reshape(()) for i in range(len(params))]
                for st, v in zip(self.states, views):
                    st[key] = make(v)
                self.scalar_views[key] = views
            else:
                flat = xp.concatenate([st[key]._data.reshape(-1) for st in self.states])
                self.arrays[key] = flat
                views = [flat[a:b].reshape(s) for (a, b), s in zip(self.bounds, self.shapes)]
                for st, v in zip(self.states, views):
                    st[key] = make(v)
                self.array_views[key] = views
        self.keys = frozenset(first)

    def matches(self, opt, params: list[Tensor]) -> bool:
        """Whether this layout still describes these parameters and their state."""
        if len(params) != len(self.params) or not all(map(is_, params, self.params)):
            return False
        if not all(map(is_, [p._data for p in params], self.param_arrays)):
            return False
        states = [opt.state[p] for p in params]
        if not all(map(is_, states, self.states)):
            return False
        for st in states:
            if st.keys() != self.keys:
                return False
        for key, views in self.array_views.items():
            if not all(map(is_, [st[key]._data for st in states], views)):
                return False
        for key, views in self.scalar_views.items():
            if not all(map(is_, [st[key]._data for st in states], views)):
                return False
        return True

    def step(self, opt, group: dict) -> None:
        xp = self.params[0].xp
        scalars = scalar_values(group, {k: arr[0] for k, arr in self.scalars.items()})
        coeffs = opt.advance(group, scalars, False)
        for k, v in scalars.items():
            self.scalars[k][...] = v
        self.gather_grads(xp, group)
        flat, grad, arrays = self.flat, self.grad, self.arrays
        xp.concatenate([a.reshape(-1) for a in self.param_arrays], out=flat)
        chunk = for_xp(xp).chunk_elements(CHUNK)
        for a in range(0, self.total, chunk):
            b = min(a + chunk, self.total)
            opt.update(group, flat[a:b], grad[a:b], {k: v[a:b] for k, v in arrays.items()}, coeffs)
        name = f"{type(opt).__name__}.step"
        for p, array, view in zip(self.params, self.param_arrays, self.views):
            xp.copyto(array, view)
            p._bump_version(name)

    def gather_grads(self, xp, group: dict) -> None:
        xp.concatenate([p._grad._data.reshape(-1) for p in self.params], out=self.grad)
        if group.get("maximize"):
            xp.negative(self.grad, out=self.grad)


class FlatCache:
    """One ``FlatBucket`` per parameter group, rebuilt when it goes stale."""

    def __init__(self):
        self.buckets: dict[int, FlatBucket] = {}

    def step(self, opt, group: dict, params: list[Tensor]) -> bool:
        """Run the group's step on flat buffers; False when it must take the per-parameter path."""
        if not opt.elementwise or group.get("foreach") is False:
            return False
        if sum(p._data.size for p in params) > FLAT_MAX_MEAN_NUMEL * len(params):
            return False
        bucket = self.buckets.get(id(group))
        if bucket is None or bucket.group is not group or not bucket.matches(opt, params):
            bucket = self._build(opt, group, params)
            if bucket is None:
                return False
        bucket.step(opt, group)
        return True

    def _build(self, opt, group: dict, params: list[Tensor]) -> FlatBucket | None:
        if is_current_stream_capturing():
            # building reads the scalar state on the host; a captured step uses the layout it
            # finds (built by the warm-up steps) or the per-parameter path
            return None
        self.buckets.pop(id(group), None)
        if not _uniform_params(params):
            return None
        states = [opt.state[p] for p in params]
        fresh = [opt.needs_init(group, st) for st in states]
        if any(fresh) and not all(fresh):
            return None
        if all(fresh):
            # the first step runs on the per-parameter path, which creates the state and tells
            # the rule it is fresh; the layout is built from the next step on
            return None
        for p, st in zip(params, states):
            opt.follow_device(p, st)  # the model may have moved since the last layout
        if not _uniform_states(opt, params, states):
            return None
        bucket = FlatBucket(opt, group, params)
        bucket.group = group
        self.buckets[id(group)] = bucket
        return bucket


def _uniform_params(params: list[Tensor]) -> bool:
    if len({id(p) for p in params}) != len(params):  # duplicates: PyTorch updates them twice
        return False
    first = params[0]._data
    dtype, kind = first.dtype, type(first)
    for p in params:
        d = p._data
        g = p._grad._data
        if (
            d.dtype != dtype
            or type(d) is not kind
            or not is_floating_np(d.dtype)
            or p._base is not None
            or g.dtype != dtype
            or type(g) is not kind
            or g.shape != d.shape
        ):
            return False
    return kind is HOST_ARRAY or len({device_of(p._data) for p in params}) <= 1


def _uniform_states(opt, params, states) -> bool:
    keys = states[0].keys()
    for p, st in zip(params, states):
        if st.keys() != keys:
            return False
        for key, value in st.items():
            if not isinstance(value, Tensor):
                return False
            if key in opt.scalar_state:
                if float(value._data) != float(states[0][key]._data):
                    return False
            elif (
                value._data.shape != p._data.shape
                or value._data.dtype != p._data.dtype
                or type(value._data) is not type(p._data)
            ):
                return False
    return True
