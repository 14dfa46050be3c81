"""Writing a run's files so that no crash, full disk or second process can leave them unusable.

- `atomic_write(path, text)`: a temporary file beside `path`, flushed and fsynced, then renamed
  over it: a reader sees the old file or the new one, never a part.
- `DiskFull`: raised in place of the many forms a full device takes (OSError ENOSPC/EDQUOT,
  Orbax's and TensorStore's RESOURCE_EXHAUSTED), naming the path, the free space and what
  the write needs.
- `RunLock`: an exclusive advisory lock on a run directory (`fcntl.flock` on `run_dir/.lock`);
  the operating system releases it when the process dies, so a killed run never blocks the
  next one.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
from collections.abc import Iterator

_NO_SPACE_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
# How TensorStore (under Orbax) words a full device; its errors arrive as ValueError.
_NO_SPACE_TEXTS = ("No space left on device", "os_error_code='28'", "Disk quota exceeded")


class DiskFull(OSError):
    """A write failed for lack of space; the message names the path and the space needed."""

    def __init__(self, path: str, needed_bytes: int | None = None):
        free = _free_bytes(path)
        needs = f"; it needs about {_size(needed_bytes)}" if needed_bytes else ""
        super().__init__(
            errno.ENOSPC,
            f"no space left on the device of {path} ({_size(free)} free{needs}); free some space",
        )
        self.path = path
        self.advice = "then run again"  # the run that meets it says whether to --resume

    def __str__(self) -> str:
        return f"{self.strerror}, {self.advice}"


def is_disk_full(error: BaseException) -> bool:
    """Whether `error`, or any error it was raised from, says the device is full."""
    while error is not None:
        if isinstance(error, OSError) and error.errno in _NO_SPACE_ERRNOS:
            return True
        if any(text in str(error) for text in _NO_SPACE_TEXTS):
            return True
        error = error.__cause__ or error.__context__
    return False


@contextlib.contextmanager
def reporting_full_disk(path: str, needed_bytes: int | None = None) -> Iterator[None]:
    """Turn any full-device error raised inside into one `DiskFull` naming `path`."""
    try:
        yield
    except DiskFull:
        raise
    except Exception as error:
        if is_disk_full(error):
            raise DiskFull(path, needed_bytes) from None
        raise


@contextlib.contextmanager
def replaced_at_once(path: str) -> Iterator[str]:
    """A temporary path beside `path`, with its extension, to write the new contents into; when
    the block ends normally it replaces `path` in one rename, otherwise it is removed and `path`
    is left as it was. A reader (or a kill) never sees a half-written `path`."""
    folder, name = os.path.split(path)
    temporary = os.path.join(folder, f".{name}.tmp-{os.getpid()}{os.path.splitext(name)[1]}")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)


def atomic_write(path: str, text: str) -> None:
    """Replace `path` by `text` all at once (temporary file, fsync, rename); on any failure
    `path` is left as it was and the temporary file is removed."""
    with replaced_at_once(path) as temporary:
        with reporting_full_disk(path, len(text.encode())), open(temporary, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())


def _free_bytes(path: str) -> int:
    directory = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(directory):
        directory = os.path.dirname(directory)
    return shutil.disk_usage(directory).free


def _size(n: int) -> str:
    """`n` bytes as a person reads them: 3 B, 117 KiB, 4.0 MiB."""
    if n < 2**10:
        return f"{n} B"
    return f"{n / 2**10:.0f} KiB" if n < 2**20 else f"{n / 2**20:.1f} MiB"


class RunStateError(RuntimeError):
    """The run directory's state does not allow what was asked, whatever the config: it is in use,
    not writable, holds no (good) checkpoint, or holds checkpoints a fresh run would overwrite.
    The command lines report it, like a usage error, in one line with status 2."""


class RunDirectoryBusy(RunStateError):
    """Another live process holds the run directory's lock."""


class RunLock:
    """An exclusive lock on a run directory for as long as a run uses it.

    `acquire()` creates the directory if needed (and `release()` removes it again if the run
    wrote nothing else), takes `fcntl.flock(LOCK_EX | LOCK_NB)` on `run_dir/.lock` and records
    the process id there. A second process gets `RunDirectoryBusy` naming the holder.
    """

    NAME = ".lock"

    def __init__(self, run_dir: str):
        self.run_dir = os.path.abspath(run_dir)
        self.path = os.path.join(self.run_dir, self.NAME)
        self._file = None
        self._created_directory = False

    def acquire(self) -> None:
        if os.path.exists(self.run_dir) and not os.path.isdir(self.run_dir):
            raise NotADirectoryError(f"--workdir {self.run_dir} is a file; give a directory for the run")
        self._created_directory = not os.path.exists(self.run_dir)
        try:
            with reporting_full_disk(self.path):
                os.makedirs(self.run_dir, exist_ok=True)
                self._file = open(self.path, "a+")  # noqa: SIM115 (held open until release)
                self._lock_or_name_the_holder()
                self._file.seek(0)
                self._file.truncate()
                self._file.write(str(os.getpid()))
                self._file.flush()
        except BaseException:
            self.release()
            raise

    def _lock_or_name_the_holder(self) -> None:
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.seek(0)
            holder = self._file.read().strip()
            self._file.close()
            self._file = None
            self._created_directory = False  # the holder's now, whoever made it
            process = f" (process {holder})" if holder else ""
            raise RunDirectoryBusy(
                f"{self.run_dir} is in use by another jaxgan run{process}; wait for it to finish or choose "
                "another --workdir"
            ) from None

    def release(self) -> None:
        """Unlock; remove the directory again if this lock created it and nothing else was written."""
        if self._file is not None and self._created_directory and set(os.listdir(self.run_dir)) <= {self.NAME}:
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.path)
            os.rmdir(self.run_dir)
            self._created_directory = False
        if self._file is not None:
            with contextlib.suppress(OSError):  # a full disk may refuse to flush the process id
                self._file.close()  # closing releases the flock
            self._file = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()
