"""CUDA graphs on "cuda": captured and replayed training steps match eager ones.

On the stand-in a capture records a tape of array operations that a replay re-runs on the same
buffers (``ember.backend.fake_graph``); on a GPU it is CuPy's stream capture.
"""

from __future__ import annotations

import gc

import numpy as np
import pytest

import ember
from tests.cuda.conftest import host

STEPS = 5
WARMUP = 3


def _model(seed: int = 0, device: str = "cuda"):
    ember.manual_seed(seed)
    layers = [ember.nn.Linear(8, 16), ember.nn.Tanh(), ember.nn.Linear(16, 4)]
    return ember.nn.Sequential(*layers).to(device)


def _batches(n: int, device: str = "cuda"):
    rng = np.random.default_rng(1)
    return [
        (
            ember.tensor(rng.standard_normal((6, 8)).astype(np.float32), device=device),
            ember.tensor(rng.standard_normal((6, 4)).astype(np.float32), device=device),
        )
        for _ in range(n)
    ]


OPTIMIZERS = [
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("Adam", {"lr": 0.01, "capturable": True}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.1, "capturable": True}),
]


def _eager(name, kwargs, batches):
    model = _model()
    opt = getattr(ember.optim, name)(model.parameters(), **kwargs)
    for x, y in batches:
        opt.zero_grad()
        ember.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
    return model


def _assert_params_equal(a, b, what: str) -> None:
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        np.testing.assert_allclose(host(p), host(q), rtol=1e-6, atol=1e-7, err_msg=f"{what}: {name}")


@pytest.mark.parametrize(("name", "kwargs"), OPTIMIZERS, ids=[o[0] for o in OPTIMIZERS])
def test_pytorch_whole_network_pattern_matches_eager(name, kwargs, device):
    """PyTorch's documented whole-network capture, verbatim but for the model and the data."""
    torch = ember
    batches = _batches(WARMUP + STEPS)
    model = _model()
    optimizer = getattr(torch.optim, name)(model.parameters(), **kwargs)
    loss_fn = torch.nn.MSELoss()
    static_input = torch.empty(6, 8, device=device)
    static_target = torch.empty(6, 4, device=device)

    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for data, target in batches[:WARMUP]:
            static_input.copy_(data)
            static_target.copy_(target)
            optimizer.zero_grad(set_to_none=True)
            y_pred = model(static_input)
            loss = loss_fn(y_pred, static_target)
            loss.backward()
            optimizer.step()
    torch.cuda.current_stream().wait_stream(s)

    g = torch.cuda.CUDAGraph()
    optimizer.zero_grad(set_to_none=True)
    with torch.cuda.graph(g):
        static_y_pred = model(static_input)
        static_loss = loss_fn(static_y_pred, static_target)
        static_loss.backward()
        optimizer.step()

    losses = []
    for data, target in batches[WARMUP:]:
        static_input.copy_(data)
        static_target.copy_(target)
        g.replay()
        losses.append(static_loss.item())

    reference = _eager(name, kwargs, batches)
    _assert_params_equal(model, reference, f"{name}: {STEPS} replays")
    assert np.isfinite(losses).all() and len(set(losses)) == STEPS


def test_capture_does_not_run_the_work(device):
    """As on a GPU, the captured step has not happened when the capture ends: replay runs it."""
    x = ember.ones(4, device=device)
    g = ember.cuda.CUDAGraph()
    with ember.cuda.graph(g):
        x.add_(1)
    np.testing.assert_array_equal(host(x), np.ones(4, np.float32))
    g.replay()
    g.replay()
    np.testing.assert_array_equal(host(x), np.full(4, 3, np.float32))


def test_replay_reads_new_data_from_static_inputs(device):
    static_x = ember.zeros(3, device=device)
    g = ember.cuda.CUDAGraph()
    with ember.cuda.graph(g):
        static_y = (static_x * 2 + 1).exp().sum()
    for values in ([0.0, 1.0, 2.0], [3.0, -1.0, 0.5]):
        static_x.copy_(ember.tensor(values, device=device))
        g.replay()
        np.testing.assert_allclose(static_y.item(), np.exp(np.array(values) * 2 + 1).sum(), rtol=1e-6)


@pytest.mark.parametrize(("name", "kwargs"), OPTIMIZERS[:2], ids=[o[0] for o in OPTIMIZERS[:2]])
def test_make_graphed_step_matches_eager(name, kwargs, device):
    batches = _batches(WARMUP + STEPS)
    model = _model()
    opt = getattr(ember.optim, name)(model.parameters(), **kwargs)
    static_x, static_y = (t.clone() for t in batches[0])

    def step(x, y):
        opt.zero_grad()
        loss = ember.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        return loss

    # the warm-up runs are real steps: three of them on the first batch
    graphed = ember.cuda.make_graphed_step(step, static_x, static_y, warmup=WARMUP)
    for x, y in batches[WARMUP:]:
        loss = graphed(x, y)
    reference = _eager(name, kwargs, [batches[0]] * WARMUP + batches[WARMUP:])
    _assert_params_equal(model, reference, f"make_graphed_step with {name}")
    assert loss is graphed.static_outputs
    grad_memory = [p.grad._data for p in model.parameters()]
    graphed(*batches[0])
    assert all(p.grad._data is a for p, a in zip(model.parameters(), grad_memory))


def test_make_graphed_callables_module_matches_eager(device):
    model = _model()
    reference = _model()
    sample = ember.randn(6, 8, device=device, requires_grad=True)
    graphed = ember.cuda.make_graphed_callables(model, (sample,))
    assert graphed is model
    for x, _ in _batches(3):
        xs = [x.detach().clone().requires_grad_(True) for _ in range(2)]
        outs = [graphed(xs[0]), reference(xs[1])]
        for out in outs:
            (out * out).sum().backward()
        np.testing.assert_allclose(host(outs[0]), host(outs[1]), rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(host(xs[0].grad), host(xs[1].grad), rtol=1e-6, atol=1e-7)
    for p, q in zip(model.parameters(), reference.parameters()):
        np.testing.assert_allclose(host(p.grad), host(q.grad), rtol=1e-5, atol=1e-6)
    model.eval()
    assert model(sample).grad_fn is not None  # eval mode runs the module eagerly


def test_make_graphed_callables_function(device):
    w = ember.randn(8, 3, device=device, requires_grad=True)

    def fn(x):
        return (x @ w).tanh()

    sample = ember.randn(4, 8, device=device, requires_grad=True)
    graphed = ember.cuda.make_graphed_callables(fn, (sample,))
    x = ember.randn(4, 8, device=device, requires_grad=True)
    out = graphed(x)
    np.testing.assert_allclose(host(out), host(fn(x)), rtol=1e-6, atol=1e-7)
    out.sum().backward()
    expected = ember.autograd.grad(fn(x).sum(), x)[0]
    np.testing.assert_allclose(host(x.grad), host(expected), rtol=1e-6, atol=1e-7)


REFUSED = [
    ("item", lambda x: x.sum().item()),
    ("tolist", lambda x: x.tolist()),
    ("cpu", lambda x: x.cpu()),
    ("bool", lambda x: bool(x.sum() > 0)),
    ("synchronize", lambda x: ember.cuda.synchronize()),
    ("host-to-device", lambda x: ember.tensor([1.0, 2.0], device="cuda")),
    ("dropout", lambda x: ember.nn.functional.dropout(x, 0.5)),
    ("rand", lambda x: ember.rand(3, device="cuda")),
    ("nonzero", lambda x: x.nonzero()),
]


@pytest.mark.parametrize(("what", "operation"), REFUSED, ids=[r[0] for r in REFUSED])
def test_capture_refuses_what_cuda_refuses(what, operation, device):
    x = ember.ones(4, device=device)
    g = ember.cuda.CUDAGraph()
    with pytest.raises(RuntimeError, match="capturing|CUDA graph capture"), ember.cuda.graph(g):
        operation(x)
    assert not ember.cuda.is_current_stream_capturing()
    with pytest.raises(RuntimeError, match="nothing has been captured"):
        g.replay()
    assert x.sum().item() == 4.0  # the device works normally again


def test_capture_on_the_default_stream_is_refused(device):
    g = ember.cuda.CUDAGraph()
    with pytest.raises(RuntimeError, match="non-default stream"):
        g.capture_begin()


def test_adam_without_capturable_refuses_capture(device):
    p = ember.zeros(3, device=device, requires_grad=True)
    opt = ember.optim.Adam([p], lr=0.1)
    p.grad = ember.ones(3, device=device)
    opt.step()
    with pytest.raises(RuntimeError, match="capturable is False"), ember.cuda.graph(ember.cuda.CUDAGraph()):
        opt.step()


def test_capturable_adam_keeps_its_step_on_the_device(device):
    p = ember.zeros(3, device=device, requires_grad=True)
    opt = ember.optim.Adam([p], lr=0.1, capturable=True)
    p.grad = ember.ones(3, device=device)
    opt.step()
    g = ember.cuda.CUDAGraph()
    with ember.cuda.graph(g):
        opt.step()
    for _ in range(3):
        g.replay()
    step = opt.state[p]["step"]
    assert step.device.type == "cuda"
    assert step.item() == 4.0


def test_pool_keeps_captured_outputs_alive_and_reset_frees_them(device):
    x = ember.ones(256, 256, device=device)
    gc.collect()
    ember.cuda.empty_cache()
    before = ember.cuda.memory_allocated()
    reserved = ember.cuda.memory_reserved()
    g = ember.cuda.CUDAGraph()
    with ember.cuda.graph(g):
        y = (x * 3).sum(0)
        del y  # the graph still writes to this memory: its pool keeps it
    assert ember.cuda.memory_reserved() > reserved
    g.replay()
    g.reset()
    with pytest.raises(RuntimeError, match="nothing has been captured"):
        g.replay()
    gc.collect()
    if ember.backend.get("cuda").fake:  # CuPy's pools keep freed blocks reserved
        assert ember.cuda.memory_allocated() <= before


def test_graphs_share_a_pool_and_replay_in_order(device):
    pool = ember.cuda.graph_pool_handle()
    x = ember.zeros(3, device=device)
    first, second = ember.cuda.CUDAGraph(), ember.cuda.CUDAGraph()
    with ember.cuda.graph(first, pool=pool):
        y = x + 1
    with ember.cuda.graph(second, pool=first.pool()):
        z = y * 2
    x.copy_(ember.tensor([1.0, 2.0, 3.0], device=device))
    first.replay()
    second.replay()
    np.testing.assert_array_equal(host(z), np.array([4.0, 6.0, 8.0], np.float32))


def test_is_current_stream_capturing(device):
    assert not ember.cuda.is_current_stream_capturing()
    seen = []
    with ember.cuda.graph(ember.cuda.CUDAGraph()):
        seen.append(ember.cuda.is_current_stream_capturing())
    assert seen == [True]
    assert not ember.cuda.is_current_stream_capturing()


def test_capturing_an_optimizers_first_step_is_refused(device):
    p = ember.zeros(3, device=device, requires_grad=True)
    opt = ember.optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = ember.ones(3, device=device)
    with pytest.raises(RuntimeError, match="warm-up"), ember.cuda.graph(ember.cuda.CUDAGraph()):
        opt.step()


def test_capture_undoes_its_writes_and_refuses_reading_results_early(device):
    """The stand-in restores outside buffers at capture end and poisons captured outputs until
    the first replay, as a GPU leaves them unwritten."""
    if not ember.backend.get("cuda").fake:
        pytest.skip("what a GPU leaves in unwritten memory is undefined")
    x = ember.ones(3, device=device)
    g = ember.cuda.CUDAGraph()
    with ember.cuda.graph(g):
        x.mul_(5)
        y = x + 1
    assert np.isnan(host(y)).all()
    np.testing.assert_array_equal(host(x), np.ones(3, np.float32))
    g.replay()
    np.testing.assert_array_equal(host(y), np.full(3, 6, np.float32))


def test_make_graphed_callables_tuple_chains_like_eager(device):
    first, second = _model(1), ember.nn.Linear(4, 2).to(device)
    ref_first, ref_second = _model(1), ember.nn.Linear(4, 2).to(device)
    ref_second.load_state_dict(second.state_dict())
    x = ember.randn(6, 8, device=device)
    h = ember.randn(6, 4, device=device, requires_grad=True)
    graphed = ember.cuda.make_graphed_callables((first, second), ((x,), (h,)))
    assert graphed == (first, second)
    for data, _ in _batches(2):
        out = second(first(data))
        ref = ref_second(ref_first(data))
        out.pow(2).mean().backward()
        ref.pow(2).mean().backward()
        np.testing.assert_allclose(host(out), host(ref), rtol=1e-6, atol=1e-7)
    for p, q in zip(
        [*first.parameters(), *second.parameters()], [*ref_first.parameters(), *ref_second.parameters()]
    ):
        np.testing.assert_allclose(host(p.grad), host(q.grad), rtol=1e-5, atol=1e-6)


def test_a_device_tensor_lr_is_read_on_every_replay(device):
    """With ``capturable=True`` and ``lr`` a Tensor on the device, the captured step reads the
    Tensor, so changing it in place (as schedulers do) changes what each replay applies."""
    p = ember.zeros(2, device=device, requires_grad=True)
    lr = ember.tensor(0.1, device=device)
    opt = ember.optim.AdamW([p], lr=lr, weight_decay=0.0, capturable=True)
    p.grad = ember.ones(2, device=device)
    opt.step()  # warm-up: the state exists before capture
    g = ember.cuda.CUDAGraph()
    with ember.cuda.graph(g):
        opt.step()
    before = host(p).copy()
    lr.fill_(0.0)
    g.replay()
    np.testing.assert_allclose(host(p), before)  # lr 0: no move
    lr.fill_(0.1)
    g.replay()
    assert (host(p) < before).all()
