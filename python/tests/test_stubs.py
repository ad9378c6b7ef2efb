"""The type stubs describe the extension as built: every public name, and no more."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import zkinfer
from zkinfer import _native

STUBS = Path(zkinfer.__file__).with_name("_native.pyi")


def stub_names():
    tree = ast.parse(STUBS.read_text())
    names = {}
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            members = {
                n.name if isinstance(n, ast.FunctionDef) else n.target.id
                for n in getattr(node, "body", [])
                if isinstance(n, ast.FunctionDef)
                or (isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name))
            }
            names[node.name] = members
        elif isinstance(node, ast.AnnAssign):
            names[node.target.id] = set()
    return names


def test_every_public_name_has_a_stub_and_every_stub_a_name():
    stubs = stub_names()
    public = {n for n in dir(_native) if not n.startswith("_")} | {"__version__"}
    assert public == set(stubs) - {"_Path"}
    for cls in ("Proof", "NativeModel"):
        members = {n for n in dir(getattr(_native, cls)) if not n.startswith("_")}
        assert members == {m for m in stubs[cls] if not m.startswith("_")}, cls


def test_the_python_layer_documents_every_public_function():
    import zkinfer.ray

    for module in (zkinfer, zkinfer.ray):
        for name in module.__all__:
            value = getattr(module, name)
            if inspect.isfunction(value) or inspect.isclass(value):
                assert inspect.getdoc(value), f"{module.__name__}.{name} has no docstring"
    for name, member in inspect.getmembers(zkinfer.Model):
        if not name.startswith("_"):
            assert inspect.getdoc(member), f"Model.{name} has no docstring"
