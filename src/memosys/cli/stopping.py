"""How the server commands stop on signals: SIGTERM (or SIGHUP) stops ``serve`` and
``mcp`` cleanly, and nothing but SIGKILL interrupts the store's close.

Closing the store saves the changed vector indexes and makes the database's last
commit. A second SIGTERM or Ctrl-C during it used to raise there: the process
exited with an index file written but not recorded and the database left open
(0 for SIGTERM, 1 for SIGINT). Now the close runs to its end and the signal is
only reported.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from types import FrameType
from typing import Any, NoReturn, TypeVar

T = TypeVar("T")
Handler = Callable[[int, FrameType | None], Any] | int | None  # what signal.getsignal gives
_STOPS = (signal.SIGTERM, signal.SIGINT)


@contextmanager
def sigterm_stops(*also: signal.Signals) -> Iterator[None]:
    """SIGTERM (and the signals ``also``) stops the command cleanly: the store is closed
    and the exit status is 0. SIGHUP (its terminal closed) is taken for a SIGTERM.

    uvicorn stops gracefully on SIGTERM, then sends it again to the handler that was
    there before; with the default one the process died of it (status -15) before
    the store was closed (the changed vector indexes went unsaved). This handler ends
    the process with ``SystemExit(0)`` instead, through the ``with`` that closes the
    store (also for a SIGTERM before or after uvicorn's own handler is in place).
    ``serve`` passes SIGINT too: the Ctrl-C that uvicorn sent again after a stop that
    waited for a request in hand reached asyncio's handler, which cancelled the
    finishing server, and the process ended with ``KeyboardInterrupt`` ("Aborted!",
    status 1) instead of 0.
    """

    def stop(_signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(0)

    def as_sigterm(_signum: int, _frame: FrameType | None) -> None:
        os.kill(os.getpid(), signal.SIGTERM)  # to whoever stops on it now: uvicorn, or stop

    stops = (signal.SIGTERM, *also)
    previous: dict[signal.Signals, Handler] = {
        signum: signal.signal(signum, stop) for signum in stops
    }
    if hasattr(signal, "SIGHUP"):  # the terminal closed: a stop, not a death
        previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, as_sigterm)
    try:
        yield
    finally:
        _restore(previous)


@contextmanager
def closed_unbroken(store: AbstractContextManager[T]) -> Iterator[T]:
    """Enter ``store`` (e.g. ``MemOS.open(...)``); while it is exited (closed), SIGTERM
    and SIGINT are reported on stderr and ignored, then their handlers are restored."""
    previous = {signum: signal.getsignal(signum) for signum in _STOPS}
    with ExitStack() as stack:
        stack.callback(_restore, previous)  # exits run last to first: after the close
        entered = stack.enter_context(store)
        stack.callback(_hold_off)  # before the close
        yield entered


def exit_now(stop: SystemExit) -> NoReturn:
    """End the process with ``stop``'s status at once, without waiting for its other
    threads (call it once the store is closed)."""
    sys.stdout.flush()
    sys.stderr.flush()
    code = stop.code
    os._exit(0 if code is None else code if isinstance(code, int) else 1)


def _hold_off() -> None:
    for signum in _STOPS:
        signal.signal(signum, _already_stopping)


def _already_stopping(signum: int, _frame: FrameType | None) -> None:
    # os.write: a handler that printed could interrupt a print of the close itself
    os.write(2, f"{signal.Signals(signum).name}: already stopping; closing the store "
                "(SIGKILL ends the process at once)\n".encode())


def _restore(previous: dict[signal.Signals, Handler]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, signal.SIG_DFL if handler is None else handler)
