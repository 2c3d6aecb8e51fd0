"""``ember.jit``: scriptable model code runs eagerly."""

import pytest

import ember
from tests.helpers import torch_or_skip


def _scriptable_program(lib):
    """Model code in the style of libraries written to be scriptable (timm, torchvision)."""

    @lib.jit.script
    def swish(x):
        return x * lib.sigmoid(x)

    class Block(lib.nn.Module):
        scale: lib.jit.Final[float]

        def __init__(self):
            super().__init__()
            self.scale = 2.0
            self.fc = lib.nn.Linear(2, 2)

        @lib.jit.ignore
        def describe(self):
            return "block"

        @lib.jit.unused
        def unused_path(self, x):
            return x

        @lib.jit.export
        def exported(self, x):
            return x * self.scale

        def forward(self, x):
            if not lib.jit.is_scripting():
                x = swish(x)
            return self.exported(x)

    block = Block()
    x = lib.ones(3, 2)
    out = lib.jit.trace(block, (x,))(x)
    sizes = lib.jit.annotate(list[int], [])
    sizes.append(out.shape[0])
    text = block.describe()
    future = lib.jit.fork(lambda a: a + 1, lib.ones(1))
    return (
        out.shape,
        sizes,
        text,
        lib.jit.wait(future).tolist(),
        lib.jit.isinstance([1, 2], list[int]),
        lib.jit.ignore(drop=True)(lambda s: len(s))("ab"),
    )


def test_scriptable_code_runs_eagerly():
    shape, sizes, text, forked, is_list, dropped = _scriptable_program(ember)
    assert tuple(shape) == (3, 2) and sizes == [3] and text == "block"
    assert forked == [2.0] and is_list and dropped == 2
    module = ember.nn.Linear(2, 2)
    assert ember.jit.script(module) is module


def test_matches_pytorch():
    torch = torch_or_skip()
    pytest.importorskip("torch.jit")
    ours = _scriptable_program(ember)
    theirs = _scriptable_program(torch)
    assert (tuple(ours[0]),) + ours[1:] == (tuple(theirs[0]),) + theirs[1:]
