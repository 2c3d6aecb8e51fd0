"""Multi-tensor optimizer steps: one kernel launch updates every parameter of a group.

``sgd_step`` and ``adam_step`` (Adam, and AdamW with ``decoupled=True``) take a ``TensorLists``
(the parameters, their gradients and their state buffers, each tensor keeping its own array)
and the group's scalars, which the caller passes on every step, so a changed ``lr`` needs no
rebuild. The references loop over the tensors with the array operations of the optimizers'
own ``update`` (``ember/optim/sgd.py``, ``adam.py``), in the same order, hence the same bits.

The CUDA versions are one ``RawKernel`` each (multi-tensor apply): the caller's arrays are
described by device tables of pointers and sizes, built once per ``TensorLists`` and kept in
its ``cache``; each CUDA block updates one chunk of one tensor. Gradients are new arrays after
most backward passes, so their pointer table is uploaded again only when a pointer changed. The
kernels compute in the parameters' dtype, one rounding per operation as NumPy does
(``--fmad=false``: no fused multiply-add), with the scalars rounded to that dtype as NumPy
rounds a Python float. Supported dtypes: ``SUPPORTED_DTYPES`` (float32, float64); float16 and
bfloat16 parameters take the optimizers' ordinary path.
"""

from __future__ import annotations

import numpy as np

from ember.backend import xp_of

__all__ = ["SUPPORTED_DTYPES", "TensorLists", "adam_step", "build_adam_step", "build_sgd_step", "sgd_step"]

SUPPORTED_DTYPES = ("float32", "float64")

#: elements one CUDA block updates (one chunk of one tensor)
CHUNK = 1 << 16
THREADS = 256


class TensorLists:
    """The arrays one multi-tensor step walks: ``params``, ``grads`` and ``states[name]``, aligned.

    The caller builds it once per layout and sets ``grads`` before each step; the CUDA kernels
    keep their device tables in ``cache``.
    """

    def __init__(self, params: list, states: dict[str, list]) -> None:
        self.params = params
        self.states = states
        self.grads: list = []
        self.cache: dict = {}


# -- references (array operations; what the CUDA stand-in runs) ----------------------------------
def sgd_step(
    lists: TensorLists,
    *,
    lr: float,
    momentum: float,
    dampening: float,
    weight_decay: float,
    nesterov: bool,
    maximize: bool,
    fresh: bool,
) -> None:
    """One SGD step over every tensor; ``fresh``: the momentum buffers take the gradient as is."""
    buffers = lists.states.get("momentum_buffer") or [None] * len(lists.params)
    for param, grad, buf in zip(lists.params, lists.grads, buffers):
        if maximize:
            grad = xp_of(grad).negative(grad)
        if weight_decay != 0:
            grad = grad + param * weight_decay
        if momentum != 0:
            if fresh:
                buf[...] = grad
            else:
                buf *= momentum
                buf += grad if dampening == 0 else grad * (1 - dampening)
            grad = grad + buf * momentum if nesterov else buf
        param -= grad * lr


def adam_step(
    lists: TensorLists,
    *,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    step: float,
    amsgrad: bool,
    maximize: bool,
    decoupled: bool,
) -> None:
    """One Adam step over every tensor; ``step`` is the step count after this step (1 first)."""
    step_size, bias_correction2_sqrt = adam_coefficients(lr, beta1, beta2, step)
    states = lists.states
    maxima = states.get("max_exp_avg_sq") or [None] * len(lists.params)
    columns = zip(lists.params, lists.grads, states["exp_avg"], states["exp_avg_sq"], maxima)
    for param, grad, exp_avg, exp_avg_sq, maximum in columns:
        xp = xp_of(param)
        grad = xp.negative(grad) if maximize else grad.copy()
        if weight_decay != 0:
            if decoupled:
                param *= 1 - lr * weight_decay
            else:
                grad += param * weight_decay
        scratch = xp.empty_like(param)
        lerp_(xp, exp_avg, grad, 1 - beta1, scratch)
        exp_avg_sq *= beta2
        xp.multiply(grad, 1 - beta2, out=scratch)
        scratch *= grad
        exp_avg_sq += scratch
        second = exp_avg_sq
        if amsgrad:
            xp.maximum(maximum, exp_avg_sq, out=maximum)
            second = maximum
        denom = xp.sqrt(second, out=scratch)
        denom /= bias_correction2_sqrt
        denom += eps
        xp.divide(exp_avg, denom, out=denom)
        denom *= step_size
        param -= denom


def adam_coefficients(lr: float, beta1: float, beta2: float, step: float) -> tuple[float, float]:
    """``(lr / (1 - beta1**step), sqrt(1 - beta2**step))``, as ``Adam.advance`` computes them."""
    return lr / (1 - beta1**step), (1 - beta2**step) ** 0.5


def lerp_(xp, start, end, weight: float, scratch) -> None:
    """``start += weight * (end - start)`` in place, rounded as PyTorch's ``lerp_`` rounds (the
    optimizers' update rules use this one too, so both paths give the same bits)."""
    xp.subtract(end, start, out=scratch)
    if weight < 0.5:
        scratch *= weight
        start += scratch
    else:
        scratch *= weight - 1
        xp.add(end, scratch, out=start)


# -- CUDA kernels -----------------------------------------------------------------------------------
# Every kernel starts with the same lookup: block -> (tensor, first element of its chunk).
_PROLOGUE = r"""
    const int t = chunk_tensor[blockIdx.x];
    const long long start = chunk_start[blockIdx.x];
    const long long stop = min(start + chunk, sizes[t]);
"""

_SGD_SOURCE = r"""
extern "C" __global__ void ember_sgd_step(
        const unsigned long long* table, const unsigned long long* grads, const long long* sizes,
        const int* chunk_tensor, const long long* chunk_start, const int n, const long long chunk,
        const double lr, const double momentum, const double dampening, const double weight_decay,
        const int nesterov, const int maximize, const int fresh) {
    PROLOGUE
    T* param = (T*)table[t];
    T* buf = (T*)table[n + t];
    const T* grad = (const T*)grads[t];
    const T lr_t = (T)lr, momentum_t = (T)momentum, wd_t = (T)weight_decay;
    const T keep_t = (T)(1.0 - dampening);
    for (long long i = start + threadIdx.x; i < stop; i += blockDim.x) {
        T g = grad[i];
        if (maximize) g = -g;
        const T p = param[i];
        if (weight_decay != 0.0) g = g + p * wd_t;
        if (momentum != 0.0) {
            T b;
            if (fresh) {
                b = g;
            } else {
                b = buf[i] * momentum_t;
                b = b + (dampening == 0.0 ? g : g * keep_t);
            }
            buf[i] = b;
            g = nesterov ? g + b * momentum_t : b;
        }
        param[i] = p - g * lr_t;
    }
}
"""

_ADAM_SOURCE = r"""
extern "C" __global__ void ember_adam_step(
        const unsigned long long* table, const unsigned long long* grads, const long long* sizes,
        const int* chunk_tensor, const long long* chunk_start, const int n, const long long chunk,
        const double lr, const double beta1, const double beta2, const double eps,
        const double weight_decay, const double step, const int amsgrad, const int maximize,
        const int decoupled) {
    PROLOGUE
    T* param = (T*)table[t];
    T* exp_avg = (T*)table[n + t];
    T* exp_avg_sq = (T*)table[2 * n + t];
    T* maximum = (T*)table[3 * n + t];
    const T* grad = (const T*)grads[t];
    const double step_size = lr / (1.0 - pow(beta1, step));
    const T step_size_t = (T)step_size;
    const T correction2_t = (T)sqrt(1.0 - pow(beta2, step));
    const T decay_t = (T)(1.0 - lr * weight_decay), wd_t = (T)weight_decay;
    const double weight = 1.0 - beta1;
    const T weight_t = weight < 0.5 ? (T)weight : (T)(weight - 1.0);
    const T beta2_t = (T)beta2, rest2_t = (T)(1.0 - beta2), eps_t = (T)eps;
    for (long long i = start + threadIdx.x; i < stop; i += blockDim.x) {
        T g = grad[i];
        if (maximize) g = -g;
        T p = param[i];
        if (weight_decay != 0.0) {
            if (decoupled) p = p * decay_t;
            else g = g + p * wd_t;
        }
        T m = exp_avg[i];
        const T d = g - m;
        m = weight < 0.5 ? m + d * weight_t : g + d * weight_t;
        T v = exp_avg_sq[i] * beta2_t;
        T s = g * rest2_t;
        s = s * g;
        v = v + s;
        exp_avg[i] = m;
        exp_avg_sq[i] = v;
        T second = v;
        if (amsgrad) {
            const T old = maximum[i];
            second = (isnan(old) || old >= v) ? old : v;
            maximum[i] = second;
        }
        T denom = sqrt(second);
        denom = denom / correction2_t;
        denom = denom + eps_t;
        denom = m / denom;
        denom = denom * step_size_t;
        param[i] = p - denom;
    }
}
"""

_C_TYPES = {"float32": "float", "float64": "double"}


class _MultiTensorKernel:
    """A multi-tensor ``RawKernel`` (compiled per dtype) and the tables it walks."""

    def __init__(self, cupy, source: str, name: str, state_names: tuple[str, ...]) -> None:
        self.cupy = cupy
        self.source = source.replace("PROLOGUE", _PROLOGUE)
        self.name = name
        self.state_names = state_names
        self.compiled: dict[str, object] = {}

    def kernel(self, dtype):
        key = np.dtype(dtype).name
        found = self.compiled.get(key)
        if found is None:
            if key not in _C_TYPES:
                raise TypeError(f"{self.name}: parameters of dtype {key}, supported: {SUPPORTED_DTYPES}")
            code = f"typedef {_C_TYPES[key]} T;\n{self.source}"
            found = self.compiled[key] = self.cupy.RawKernel(code, self.name, options=("--fmad=false",))
        return found

    def tables(self, lists: TensorLists) -> dict:
        """The static tables (pointers of parameters and state, sizes, chunks), built once."""
        found = lists.cache.get("tables")
        if found is not None:
            return found
        cp = self.cupy
        columns = [lists.params] + [
            lists.states.get(k) or [None] * len(lists.params) for k in self.state_names
        ]
        pointers = [0 if a is None else a.data.ptr for column in columns for a in column]
        sizes = [int(p.size) for p in lists.params]
        chunk_tensor, chunk_start = [], []
        for t, size in enumerate(sizes):
            for start in range(0, size, CHUNK):
                chunk_tensor.append(t)
                chunk_start.append(start)
        found = {
            "table": cp.asarray(np.array(pointers, np.uint64)),
            "sizes": cp.asarray(np.array(sizes, np.int64)),
            "chunk_tensor": cp.asarray(np.array(chunk_tensor, np.int32)),
            "chunk_start": cp.asarray(np.array(chunk_start, np.int64)),
            "chunks": len(chunk_tensor),
            "keep": columns,  # the arrays the pointers point into stay alive with the tables
        }
        lists.cache["tables"] = found
        return found

    def grad_table(self, lists: TensorLists, grads: list):
        """The gradients' pointers on the device, uploaded again only when one changed."""
        pointers = tuple(g.data.ptr for g in grads)
        cached = lists.cache.get("grads")
        if cached is None or cached[0] != pointers:
            cached = (pointers, self.cupy.asarray(np.array(pointers, np.uint64)))
            lists.cache["grads"] = cached
        return cached[1]

    def launch(self, lists: TensorLists, *scalars) -> None:
        if not lists.params:
            return
        with lists.params[0].device:  # the tables and the launch on the parameters' device
            tables = self.tables(lists)
            if tables["chunks"] == 0:
                return
            # contiguous copies, where made, live until this call returns: CuPy's pool reuses
            # their memory only for work queued after the kernel on the same stream
            grads = [self.cupy.ascontiguousarray(g) for g in lists.grads]
            args = (
                tables["table"],
                self.grad_table(lists, grads),
                tables["sizes"],
                tables["chunk_tensor"],
                tables["chunk_start"],
                np.int32(len(lists.params)),
                np.int64(CHUNK),
                *scalars,
            )
            self.kernel(lists.params[0].dtype)((tables["chunks"],), (THREADS,), args)


def _flag(value: bool):
    return np.int32(1 if value else 0)


def build_sgd_step(cupy):
    """``sgd_step`` as one CUDA kernel launch."""
    launcher = _MultiTensorKernel(cupy, _SGD_SOURCE, "ember_sgd_step", ("momentum_buffer",))

    def sgd_step_cuda(lists, *, lr, momentum, dampening, weight_decay, nesterov, maximize, fresh):
        launcher.launch(
            lists,
            np.float64(lr),
            np.float64(momentum),
            np.float64(dampening),
            np.float64(weight_decay),
            _flag(nesterov),
            _flag(maximize),
            _flag(fresh),
        )

    return sgd_step_cuda


def build_adam_step(cupy):
    """``adam_step`` as one CUDA kernel launch."""
    names = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    launcher = _MultiTensorKernel(cupy, _ADAM_SOURCE, "ember_adam_step", names)

    def adam_step_cuda(lists, *, lr, beta1, beta2, eps, weight_decay, step, amsgrad, maximize, decoupled):
        launcher.launch(
            lists,
            np.float64(lr),
            np.float64(beta1),
            np.float64(beta2),
            np.float64(eps),
            np.float64(weight_decay),
            np.float64(step),
            _flag(amsgrad),
            _flag(maximize),
            _flag(decoupled),
        )

    return adam_step_cuda
