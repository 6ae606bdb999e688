"""Compiled kernels: loops over whole Arrow buffers in machine code (numba), for the work that
no engine function does in one call (SM3 and GHASH, the national standards' check characters).
Each kernel is compiled on first use and cached on disk beside its module, so later processes
load it in a fraction of a second, and runs without the GIL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from numba import njit

_Kernel = TypeVar("_Kernel", bound=Callable[..., Any])


def kernel(function: _Kernel) -> _Kernel:
    """Compile ``function`` to machine code on first use, cache it on disk, release the GIL."""
    return cast(_Kernel, njit(cache=True, nogil=True)(function))


def inlined(function: _Kernel) -> _Kernel:
    """A kernel part pasted into its caller before compiling, so LLVM sees the caller's own
    arrays (fixed shapes, no aliasing) and vectorises loops over them: about twice as fast
    as calling a separately compiled function with the same arrays."""
    return cast(_Kernel, njit(inline="always")(function))
