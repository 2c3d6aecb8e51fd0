"""Imports only go down the layer table, and ops/nn/optim never import NumPy or CuPy.

The layers (from ../shared/ARCHITECTURE.md; a module imports only its own layer or a lower one):

    0  ember.backend, dtypes, device, random, layouts
    1  ember.autograd
    2  ember.ops
    3  tensor_core, creation, methods, tensor and the torch-namespace modules: functions,
       creation_extra, random_ops, fft, linalg, special, windows, typed_tensors, tensor_repr,
       settings, transforms, jit, types, profiler, version, amp, cuda, accelerator, backends
    4  ember.nn (but nn.parallel's DDP), utils.data, utils.hooks, serialization, distributions,
       sparse, multiprocessing, nn_aliases, testing, func
    5  ember.optim
    6  ember.distributed, nn.parallel's DDP (distributed, _reducer; ember.nn.parallel loads it on
       first use, so ember.nn stays on layer 4), train,
       utils.tensorboard, onnx, datasets, examples, as_torch
    7  ember/__init__.py, which only re-exports

Inside layer 3 the tensor modules import one way: tensor_core, then creation, then the mixins
(ember.methods), then ember.tensor; test_tensor_modules_import_one_way checks that order.

Module-level imports (outside ``if TYPE_CHECKING:``) must not climb. An import inside a function
may climb (a genuine cycle: ``ember.sparse`` builds on Tensor, which offers ``to_sparse``) only
with a ``#`` comment on its line or the line before saying why. ALLOWED_CLIMBS lists the known
exceptions that live in files other branches are rewriting now; each entry is (module, imported
module) with the reason.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "ember"

LAYERS = {
    "ember.backend": 0,
    "ember.dtypes": 0,
    "ember.device": 0,
    "ember.random": 0,
    "ember.layouts": 0,
    "ember.autograd": 1,
    "ember.ops": 2,
    "ember.tensor_core": 3,
    "ember.creation": 3,
    "ember.methods": 3,
    "ember.tensor": 3,
    "ember.functions": 3,
    "ember.creation_extra": 3,
    "ember.random_ops": 3,
    "ember.fft": 3,
    "ember.linalg": 3,
    "ember._linalg_norms": 3,
    "ember.special": 3,
    "ember.windows": 3,
    "ember.typed_tensors": 3,
    "ember.tensor_repr": 3,
    "ember.settings": 3,
    "ember.transforms": 3,
    "ember.types": 3,
    "ember.profiler": 3,
    "ember.version": 3,
    "ember.jit": 3,
    "ember.amp": 3,
    "ember.cuda": 3,
    "ember.accelerator": 3,
    "ember.backends": 3,
    "ember.nn": 4,
    "ember.utils": 4,
    "ember.testing": 4,
    "ember.func": 4,
    "ember.serialization": 4,
    "ember.distributions": 4,
    "ember.sparse": 4,
    "ember.multiprocessing": 4,
    "ember.nn_aliases": 4,
    "ember.optim": 5,
    "ember.distributed": 6,
    "ember.nn.parallel.distributed": 6,
    "ember.nn.parallel._reducer": 6,
    "ember.train": 6,
    "ember.utils.tensorboard": 6,
    "ember.onnx": 6,
    "ember.datasets": 6,
    "ember.examples": 6,
    "ember.as_torch": 6,
    "ember": 7,
}

# Within layer 3, the tensor modules in import order: a module may import only those before it.
# methods._util and methods._out are helpers that import nothing of the tensor modules.
TENSOR_ORDER = [
    "ember.methods._util",
    "ember.methods._out",
    "ember.tensor_core",
    "ember.creation",
    "ember.methods",
    "ember.tensor",
]

# Layer 4 and up may ``import ember`` (the package root) to call the public namespace at run
# time, as PyTorch code calls ``torch.exp``: the root always runs first, so no cycle forms.
PUBLIC_NAMESPACE_FROM = 4

_OPS_BRANCH = "ops/ is being rewritten on the CUDA branch: to be commented or removed there"
ALLOWED_CLIMBS = {
    ("ember.ops.decompositions", "ember.methods.join"): _OPS_BRANCH,
    ("ember.ops.fft", "ember.methods.join"): _OPS_BRANCH,
    ("ember.ops.matrix", "ember.methods.join"): _OPS_BRANCH,
    ("ember.ops.sparse", "ember.tensor"): _OPS_BRANCH,
}

NUMPY_FREE = ("ember.ops", "ember.nn", "ember.optim")
ARRAY_MODULES = ("numpy", "cupy", "cupyx")
ALLOWED_NUMPY = {
    "ember.ops.indexing": "cupyx.scatter_add, a scatter kernel that belongs in ember.backend; " + _OPS_BRANCH
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _owner(name: str, table: dict) -> str | None:
    """The longest key of ``table`` that is ``name`` or a package above it."""
    while name:
        if name in table:
            return name
        name = name.rpartition(".")[0]
    return None


def layer_of(name: str) -> int:
    return LAYERS[_owner(name, LAYERS)]


def _climbs(module: str, target: str) -> bool:
    if not target.startswith("ember") or (module, target) in ALLOWED_CLIMBS:
        return False
    if target == "ember" and layer_of(module) >= PUBLIC_NAMESPACE_FROM:
        return False
    return layer_of(target) > layer_of(module)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _targets(node, module: str, is_package: bool) -> list[str]:
    """The ember modules an import statement loads (``from ember import x`` names ember.x)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    base = node.module or ""
    if node.level:
        parts = module.split(".")
        keep = len(parts) - node.level + (1 if is_package else 0)
        base = ".".join(parts[:keep] + ([base] if base else []))
    out = []
    for alias in node.names:
        full = f"{base}.{alias.name}"
        out.append(full if full in MODULES else base)
    return out


def _imports(module: str):
    """(target, lineno, at_module_level) for every import in ``module``, TYPE_CHECKING aside."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    found = []

    def visit(node, top: bool):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                continue
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                for target in _targets(child, module, is_package):
                    found.append((target, child.lineno, top))
            inner = top and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            visit(child, inner)

    visit(tree, True)
    return found


def _commented(path: Path, lineno: int) -> bool:
    lines = path.read_text(encoding="utf-8").splitlines()
    own, before = lines[lineno - 1], lines[lineno - 2].strip() if lineno > 1 else ""
    return "#" in own or before.startswith("#")


def test_every_module_has_a_layer():
    unplaced = [m for m in MODULES if _owner(m, LAYERS) is None]
    assert not unplaced, f"add these modules to LAYERS (and to docs/internals.md): {unplaced}"


def test_module_level_imports_only_go_down():
    climbs = []
    for module in MODULES:
        for target, line, top in _imports(module):
            if top and _climbs(module, target):
                climbs.append(
                    f"{MODULES[module].relative_to(ROOT)}:{line} ({layer_of(module)}) "
                    f"imports {target} ({layer_of(target)})"
                )
    assert not climbs, "module-level imports that climb a layer:\n" + "\n".join(climbs)


def test_climbing_imports_in_functions_say_why():
    silent = []
    for module, path in MODULES.items():
        for target, line, top in _imports(module):
            if not top and _climbs(module, target) and not _commented(path, line):
                silent.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert not silent, (
        "an import that climbs a layer needs a comment on its line (or the line before) naming "
        "the cycle that forces it:\n" + "\n".join(silent)
    )


def _tensor_rank(name: str) -> int | None:
    owner = _owner(name, dict.fromkeys(TENSOR_ORDER))
    return None if owner is None else TENSOR_ORDER.index(owner)


def test_tensor_modules_import_one_way():
    backwards = []
    for module, path in MODULES.items():
        rank = _tensor_rank(module)
        if rank is None:
            continue
        for target, line, top in _imports(module):
            target_rank = _tensor_rank(target)
            if not top or target_rank is None or target_rank <= rank:
                continue
            backwards.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert not backwards, (
        "tensor_core -> creation -> methods -> tensor: these imports run back up:\n" + "\n".join(backwards)
    )


def test_tensor_modules_have_no_function_level_imports_of_each_other():
    hidden = []
    for module, path in MODULES.items():
        if _tensor_rank(module) is None:
            continue
        for target, line, top in _imports(module):
            if not top and _tensor_rank(target) is not None and not _commented(path, line):
                hidden.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert not hidden, "import these at module level (they no longer form a cycle):\n" + "\n".join(hidden)


@pytest.mark.parametrize("package", NUMPY_FREE)
def test_no_numpy_in_ops_nn_optim(package):
    offenders = []
    for module, path in MODULES.items():
        if _owner(module, {package: 0}) is None or module in ALLOWED_NUMPY:
            continue
        for target, line, _ in _imports(module):
            if target.split(".")[0] in ARRAY_MODULES:
                offenders.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert not offenders, (
        "use ctx.xp or ember.backend (xp_of) instead of importing the array module:\n" + "\n".join(offenders)
    )


def test_the_tensor_class_is_assembled_from_the_core():
    import ember
    from ember import tensor_core

    assert issubclass(ember.Tensor, tensor_core.TensorBase)
    assert type(tensor_core.make(ember.ones(1)._data)) is ember.Tensor
    assert ember.tensor([1.0]).tolist() == [1.0]  # the factory, not the submodule
