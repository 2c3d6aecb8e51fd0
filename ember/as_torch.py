"""``import torch`` that means ember: ``ember.install_as_torch()`` and ``python -m ember.as_torch``.

Libraries written against PyTorch's public Python API (einops, many training scripts, small
model zoos) only need ``import torch`` to give them ember. ``install()`` puts a finder first on
``sys.meta_path`` that answers every ``torch`` / ``torch.X.Y`` import with ember's module
``ember`` / ``ember.X.Y`` itself (the same module object, so ``torch.nn is ember.nn``). It is
the analogue of PyMySQL's ``install_as_MySQLdb()``, and it refuses when real PyTorch is
already imported, since two ``torch`` modules in one process would mix tensors of both.

Run a script that way without editing it::

    python -m ember.as_torch train.py --epochs 3
    python -m ember.as_torch -m package.module args...

What can and cannot work is in ``docs/as-torch.md``.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import os
import runpy
import sys
from types import ModuleType

__all__ = ["TorchAliasFinder", "install", "is_installed", "main"]

_ALIAS, _TARGET = "torch", "ember"


class TorchAliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``torch[.X]`` as the already-importable ``ember[.X]`` module object."""

    is_ember_torch_alias = True  # how install() recognises a finder from another import of this file

    def find_spec(self, fullname: str, path=None, target=None):
        if fullname != _ALIAS and not fullname.startswith(_ALIAS + "."):
            return None
        name = _TARGET + fullname[len(_ALIAS) :]
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            raise ModuleNotFoundError(
                f"No module named {fullname!r} (torch is ember in this process, and ember has no {name!r})",
                name=fullname,
            ) from None
        spec = importlib.machinery.ModuleSpec(fullname, self, is_package=hasattr(module, "__path__"))
        spec.ember_module = module
        return spec

    def create_module(self, spec) -> ModuleType:
        return spec.ember_module

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: the ember module is already imported."""


def is_installed() -> bool:
    """Whether ``import torch`` resolves to ember in this process."""
    return any(getattr(f, "is_ember_torch_alias", False) for f in sys.meta_path)


def install() -> None:
    """Make ``import torch`` and every ``torch.X`` submodule import resolve to ember's modules.

    Refuses (RuntimeError) when real PyTorch is already imported. Calling it twice is harmless.
    """
    import ember

    present = sys.modules.get(_ALIAS)
    if present is not None and present is not ember:
        raise RuntimeError(
            "ember.install_as_torch(): the real PyTorch is already imported in this process "
            f"({getattr(present, '__file__', present)!r}), so 'torch' cannot also mean ember. Call "
            "ember.install_as_torch() before anything imports torch, or run the script with "
            "`python -m ember.as_torch script.py`."
        )
    if not is_installed():
        sys.meta_path.insert(0, TorchAliasFinder())
    sys.modules[_ALIAS] = ember
    for name, module in list(sys.modules.items()):  # ember submodules imported already
        if name.startswith(_TARGET + ".") and module is not None:
            sys.modules.setdefault(_ALIAS + name[len(_TARGET) :], module)


_USAGE = "usage: python -m ember.as_torch (script.py | -m module) [args ...]"


def main(argv: list[str] | None = None) -> int:
    """Run a script or module (``-m``) with ``torch`` meaning ember, as ``python`` would run it."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(_USAGE, file=sys.stderr if not args else sys.stdout)
        return 2 if not args else 0
    install()
    if args[0] == "-m":
        if len(args) < 2:
            print(_USAGE, file=sys.stderr)
            return 2
        sys.argv = [args[1], *args[2:]]
        sys.path[0] = os.getcwd()
        runpy.run_module(args[1], run_name="__main__", alter_sys=True)
        return 0
    script = args[0]
    sys.argv = [script, *args[1:]]
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    runpy.run_path(script, run_name="__main__")
    return 0


if __name__ == "__main__":
    from ember.as_torch import main as _main  # the importable copy, whose finder install() records

    sys.exit(_main())
