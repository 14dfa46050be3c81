"""SIGINT and SIGTERM in jaxgan's programs (`run`, `eval`, `sample`): the first stops the program
with one line saying what is kept; a second stops it at once.

The first signal raises `Interrupted` wherever the program is, except inside `deferred()` (the
training loop, checkpoint writes), where it is only recorded and the loop stops after its
current step, committing it. `Interrupted` is a BaseException, like KeyboardInterrupt, so that
no `except Exception` on its way (JAX's compilation cache, Orbax) swallows it. A handler's
exception is lost when it fires inside a garbage-collector callback (JAX frees arrays from
one): Python reports it to `sys.unraisablehook` and carries on. The hook installed here
delivers the signal again a moment later (`_thread.interrupt_main`), and `raise_if_received()` at the
program's boundaries (before training starts, before results are written) is a second net.

Python runs a handler only between bytecodes, so a signal that comes during a long call into
XLA (compiling a large program takes minutes on a CPU) waits for the call to return. A second
signal is therefore handled by a thread: the handler's C half writes each signal's number to
a wakeup socket, the thread reads it, and at the second it prints one line saying what is kept
(`Signals.kept`) and ends the process with status 128 + signal.
"""

from __future__ import annotations

import _thread
import contextlib
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from typing import NoReturn

HANDLED = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """The program was stopped by a signal; the message says where and what is kept."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.signum = signum


class Signals:
    """SIGINT and SIGTERM handled for the duration of a `with` block, in the main thread.

    Attributes:
      where: what the program is doing and what is kept, said when the first signal stops it.
      kept: what is kept when a second signal stops the program at once.
      received: the signals received so far; the training loop stops when it is not empty.
    """

    def __init__(self, *, second_stops_at_once: bool = True):
        self.where = "before finishing; nothing was written"
        self.kept = "nothing was written"
        self.received: list[int] = []
        self._second_stops_at_once = second_stops_at_once
        self._deferring = False
        self._redelivering = 0  # lost exceptions whose signal is on its way again
        self._redelivered = 0  # all of them, so the second-signal thread can discount them
        self._restore: list[Callable[[], object]] = []

    def _handle(self, signum: int, frame) -> None:
        del frame
        if self._redelivering:
            self._redelivering -= 1
        else:
            self.received.append(signum)
        if not self._deferring:
            raise self._interrupted()

    def _redeliver_lost(self, unraisable, previous_hook: Callable) -> None:
        """`sys.unraisablehook`: a lost `Interrupted` is delivered again; anything else goes on."""
        if not isinstance(unraisable.exc_value, Interrupted):
            previous_hook(unraisable)
            return
        self._redelivering += 1
        self._redelivered += 1
        # From another thread, so that it lands after the callback that lost it has returned.
        threading.Timer(0.01, self._deliver_again, (unraisable.exc_value.signum,)).start()

    def _deliver_again(self, signum: int) -> None:
        """The lost signal again, to this handler only: once the block has ended, the signal stays
        in `received`, where `stops_on_signals` finds it."""
        if self in _ACTIVE:
            _thread.interrupt_main(signum)

    def _interrupted(self) -> Interrupted:
        signum = self.received[0]
        return Interrupted(f"stopped by {signal.Signals(signum).name} {self.where}", signum)

    def raise_if_received(self) -> None:
        """Raise `Interrupted` for a signal received earlier whose exception was lost."""
        if self.received and not self._deferring:
            raise self._interrupted()

    @contextlib.contextmanager
    def deferred(self) -> Iterator[list[int]]:
        """Within the block a signal is only recorded, in the list it yields."""
        self._deferring = True
        try:
            yield self.received
        finally:
            self._deferring = False

    def __enter__(self) -> Signals:
        previous = {sig: signal.signal(sig, self._handle) for sig in HANDLED}
        self._restore.append(lambda: [signal.signal(sig, handler) for sig, handler in previous.items()])
        previous_hook = sys.unraisablehook
        sys.unraisablehook = lambda unraisable: self._redeliver_lost(unraisable, previous_hook)
        self._restore.append(lambda: setattr(sys, "unraisablehook", previous_hook))
        if self._second_stops_at_once:
            self._watch_for_a_second_signal()
        _ACTIVE.append(self)
        return self

    def __exit__(self, *exc_info) -> None:
        _ACTIVE.remove(self)
        while self._restore:
            self._restore.pop()()

    def _watch_for_a_second_signal(self) -> None:
        reader, writer = socket.socketpair()
        writer.setblocking(False)
        previous_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
        threading.Thread(target=self._stop_at_the_second, args=(reader,), daemon=True).start()
        self._restore += [reader.close, writer.close, lambda: signal.set_wakeup_fd(previous_fd)]

    def _stop_at_the_second(self, reader: socket.socket) -> None:
        seen = 0
        with contextlib.suppress(OSError):
            while data := reader.recv(64):
                for signum in data:
                    seen += signum in HANDLED
                    if seen - self._redelivered >= 2:
                        name = signal.Signals(signum).name
                        os.write(2, f"stopped at once by a second {name}; {self.kept}\n".encode())
                        os._exit(128 + signum)


_ACTIVE: list[Signals] = []


@contextlib.contextmanager
def handled() -> Iterator[Signals]:
    """The Signals a command line installed, or, called from a notebook or script, ones for the
    block alone (without the second-signal thread, which would end the host process)."""
    if _ACTIVE:
        yield _ACTIVE[-1]
        return
    with Signals(second_stops_at_once=False) as signals:
        yield signals


def import_jax_holding_signals() -> None:
    """Import JAX and Orbax with signals held, raising one afterwards: an exception thrown into
    the initialisation of their C++ extensions (jaxlib, tensorstore) aborts the whole process
    (`terminate called after throwing an instance of 'nanobind::python_error'`)."""
    with handled() as interrupts:
        with interrupts.deferred():
            import jax  # noqa: F401
            import orbax.checkpoint  # noqa: F401
        interrupts.raise_if_received()


def stops_on_signals(body: Callable[[], int], where: str) -> int:
    """Run a command line's `body` under Signals (`where` says what it is doing and what a
    signal leaves, unless the body says more): its exit status, or, when a signal stopped it,
    one line on stderr and 128 + the signal's number."""
    with Signals() as signals:
        signals.where = where
        try:
            status = body()
        except Exception as error:  # an Interrupted that a library wrapped; anything else goes on
            interrupted = interruption_behind(error)
            if interrupted is None:
                raise
            print(interrupted, file=sys.stderr)
            return 128 + interrupted.signum
        except Interrupted as interrupted:
            print(interrupted, file=sys.stderr)
            return 128 + interrupted.signum
        if signals.received:  # its exception was lost, and the program finished its work first
            name = signal.Signals(signals.received[0]).name
            print(f"{name} arrived as the program finished; everything was written", file=sys.stderr)
            return 128 + signals.received[0]
        return status


def interruption_behind(error: BaseException) -> Interrupted | None:
    """The `Interrupted` that `error` was raised while handling, or None. Code between a
    handler and the program's boundary may wrap what it catches: Python itself turns an
    exception raised while a class is created (in `__set_name__`) into a RuntimeError, which is
    how a SIGINT during matplotlib's import once came out as a traceback."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, Interrupted):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


def end_process(status: int) -> NoReturn:
    """Exit a command line with `status`; after a signal (128 + its number) at once, by
    os._exit, once the program has closed its files: an XLA compilation that the signal
    interrupted goes on in a background thread, and Python's normal exit waits for it (24 s,
    then a segmentation fault, for a 1,500-operation program with JAX 0.10 on a CPU)."""
    sys.stdout.flush()
    sys.stderr.flush()
    if status > 128:
        os._exit(status)
    sys.exit(status)
