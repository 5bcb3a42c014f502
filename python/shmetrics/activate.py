# SPDX-License-Identifier: MIT
"""Zero-edit activation: `import prometheus_client` (and its submodules)
gives shmetrics.prometheus_client.

install() puts an import finder first in sys.meta_path that answers
prometheus_client and prometheus_client.X with the modules
shmetrics.prometheus_client and shmetrics.prometheus_client.X (the same
module objects: one REGISTRY per process).  Child processes inherit it
through PYTHONPATH: SHIM_DIR holds a package named prometheus_client whose
__init__ calls install(), so a spawned or exec'd interpreter that imports
prometheus_client gets shmetrics' module too.  `python3 -m shmetrics.run`
does both.
"""

import importlib
import importlib.abc
import importlib.util
import os
import sys

__all__ = ["SHIM_DIR", "child_environment", "install", "installed"]

SHIM_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_shim")
_PREFIX = "prometheus_client"


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target):
        self._target = target
        self._module = None

    def create_module(self, spec):
        self._module = importlib.import_module(self._target)
        self._spec = self._module.__spec__
        return self._module

    def exec_module(self, module):
        module.__spec__ = self._spec  # the module keeps its own spec


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname != _PREFIX and not fullname.startswith(_PREFIX + "."):
            return None
        real = "shmetrics." + fullname
        if importlib.util.find_spec(real) is None:
            return None  # a submodule shmetrics does not have: ModuleNotFoundError
        return importlib.util.spec_from_loader(fullname, _AliasLoader(real), is_package=True)


_FINDER = _Finder()


def installed():
    return _FINDER in sys.meta_path


def install():
    """Make prometheus_client resolve to shmetrics.prometheus_client in this
    process (idempotent); a prometheus_client imported before stays."""
    if not installed():
        sys.meta_path.insert(0, _FINDER)
    for name in [n for n in sys.modules if n == _PREFIX or n.startswith(_PREFIX + ".")]:
        if not getattr(sys.modules[name], "__name__", "").startswith("shmetrics."):
            del sys.modules[name]


def child_environment(env):
    """Put the shim directory and shmetrics' own directory first on
    env['PYTHONPATH'] and set SHMETRICS_PROMETHEUS_CLIENT=1 (the marker)."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parts = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p not in (SHIM_DIR, here)]
    env["PYTHONPATH"] = os.pathsep.join([SHIM_DIR, here] + parts)
    env["SHMETRICS_PROMETHEUS_CLIENT"] = "1"
    return env
