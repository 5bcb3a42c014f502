# SPDX-License-Identifier: MIT
"""prometheus_client.decorator on shmetrics: getargspec, which programs
and prometheus_client's tests use to see that a decorated function kept
its parameters (shmetrics' decorators keep them: context_managers.py)."""

import inspect
from typing import NamedTuple, Optional, Sequence, Tuple

__all__ = ["ArgSpec", "getargspec"]


class ArgSpec(NamedTuple):
    args: Sequence[str]
    varargs: Optional[str]
    varkw: Optional[str]
    defaults: Optional[Tuple]


def getargspec(f):
    """The positional parameters, *args, **kwargs and defaults of `f`, as
    inspect.getargspec gave them."""
    spec = inspect.getfullargspec(f)
    return ArgSpec(spec.args, spec.varargs, spec.varkw, spec.defaults)
