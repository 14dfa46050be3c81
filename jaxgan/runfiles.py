"""The files of one run directory: config, metrics log, summary, figures, TensorBoard events."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import struct
import sys
import time

import jax
import ml_collections
import numpy as np
import PIL.Image

from jaxgan import plots
from jaxgan.storage import atomic_write, reporting_full_disk

# A training metric the summary keeps beside the phases' losses: a Wasserstein critic's estimate
# of W1 (games.WGAN and its penalised variants report it).
WASSERSTEIN = "wasserstein"


class RunFiles:
    """The files of one run directory. In a multi-process run only process 0 writes them.

    No crash can leave them unreadable: config.json and summary.json are replaced atomically,
    metrics.jsonl grows by whole lines and a torn last line (a kill or a full disk during the
    append) is ignored when read and dropped when a resumed run trims the log.

    With `tensorboard`, the same metrics, the config (as text) and the figures (as images) go
    to a TensorBoard event file in run_dir/tensorboard too (`EventFile`; no TensorFlow
    needed): `tensorboard --logdir runs/` shows the runs while they train. metrics.jsonl stays
    the record jaxgan's tools read.
    """

    def __init__(self, run_dir: str, tensorboard: bool = False):
        self.run_dir = run_dir
        self.config = os.path.join(run_dir, "config.json")
        self.metrics = os.path.join(run_dir, "metrics.jsonl")
        self.summary = os.path.join(run_dir, "summary.json")
        self.changes = os.path.join(run_dir, "config_changes.jsonl")
        self.writes = jax.process_index() == 0
        self.tensorboard = tensorboard and self.writes
        self._board = None  # the EventFile, opened by the first write
        self._figures_added = set()  # (name, step): a figure goes to TensorBoard once

    def write_config(self, config: ml_collections.ConfigDict) -> None:
        if self.writes:
            os.makedirs(self.run_dir, exist_ok=True)
            text = config.to_json_best_effort(indent=2)
            atomic_write(self.config, text)
            if self.tensorboard:
                self._writer().add_text("config", f"```\n{text}\n```")

    def start_metrics(self, after_step: int | None) -> None:
        """Keep the rows of steps up to `after_step`, the checkpoint a resumed run restarts
        from; a fresh run (None) starts an empty log, never appending to an old one."""
        if self.writes:
            rows = [] if after_step is None else [row for row in self.read_metrics() if row["step"] <= after_step]
            atomic_write(self.metrics, "".join(json.dumps(row) + "\n" for row in rows))

    def append_metrics(self, row: dict) -> None:
        self._append(self.metrics, row)
        if self.tensorboard:
            scalars = {key: value for key, value in row.items() if key != "step" and isinstance(value, int | float)}
            self._writer().add_scalars(row["step"], scalars)

    def add_figure(self, name: str, step: int) -> None:
        """Put the PNG figure `name` of the run directory into TensorBoard as an image at `step`."""
        path = os.path.join(self.run_dir, name)
        if self.tensorboard and (name, step) not in self._figures_added and os.path.exists(path):
            self._figures_added.add((name, step))
            with PIL.Image.open(path) as figure:
                image = np.asarray(figure.convert("RGB"))
            self._writer().add_image(name.removesuffix(".png"), image, step)

    def close(self) -> None:
        """Close the TensorBoard event file, if one was opened."""
        if self._board is not None:
            self._board.close()
            self._board = None

    def _writer(self) -> EventFile:
        if self._board is None:
            self._board = EventFile(os.path.join(self.run_dir, "tensorboard"))
        return self._board

    def record_changes(self, step: int, changes: dict) -> None:
        """Log a resume's config changes ({key: [old, new]}) and the step it resumed from."""
        self._append(self.changes, {"resumed_at_step": step, "changes": changes})

    def _append(self, path: str, row: dict) -> None:
        if self.writes:
            with reporting_full_disk(path), open(path, "a") as f:
                f.write(json.dumps(row) + "\n")

    def read_metrics(self) -> list[dict]:
        """The logged rows. A last line left unfinished by a crash is ignored; any other line that
        is not a JSON object with a step is skipped with a line on stderr, keeping the rows around it."""
        if not os.path.exists(self.metrics):
            return []
        with open(self.metrics) as f:
            lines = f.read().split("\n")
        rows = []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                if not isinstance(row, dict) or not isinstance(row.get("step"), int):
                    raise ValueError("not a JSON object with an integer step")
            except ValueError as error:
                if number < len(lines) - 1:  # the last line may be torn by a crash mid-append
                    print(f"{self.metrics}: line {number} is damaged ({error}); skipped", file=sys.stderr)
                continue
            rows.append(row)
        return rows

    def write_summary(self, summary: dict) -> None:
        if self.writes:
            atomic_write(self.summary, json.dumps(summary, indent=2))

    def figure_path(self, name: str) -> str | None:
        """Where to save figure `name`, or None in processes that do not write."""
        return os.path.join(self.run_dir, name) if self.writes else None


class EventFile:
    """A TensorBoard event file written in the calling thread: each event is framed as a
    TFRecord (length, its masked CRC-32C, the serialised `Event`, its CRC) and flushed at once.

    Not tensorboardX's SummaryWriter: that one writes from a thread of its own, where a full
    disk becomes a traceback instead of the `storage.DiskFull` every other write of a run gives.
    tensorboardX (its protocol buffers and summaries) is imported only when a file is opened:
    it takes about a second.
    """

    def __init__(self, directory: str):
        from tensorboardX import summary
        from tensorboardX.proto import event_pb2, summary_pb2
        from tensorboardX.record_writer import masked_crc32c

        self._summary, self._event_pb2, self._summary_pb2, self._crc = summary, event_pb2, summary_pb2, masked_crc32c
        self.path = os.path.join(directory, f"events.out.tfevents.{time.time():.0f}.{socket.gethostname()}")
        with reporting_full_disk(self.path):
            os.makedirs(directory, exist_ok=True)
            self._file = open(self.path, "ab")  # noqa: SIM115 (held open until close)
        self._write(event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2"))

    def add_scalars(self, step: int, scalars: dict) -> None:
        """One event at `step` holding every scalar."""
        self._add(step, *(self._summary.scalar(key, value) for key, value in scalars.items()))

    def add_text(self, tag: str, text: str) -> None:
        self._add(0, self._summary.text(tag, text))

    def add_image(self, tag: str, image: np.ndarray, step: int) -> None:
        """An RGB image (height, width, 3) of uint8."""
        self._add(step, self._summary.image(tag, image, dataformats="HWC"))

    def _add(self, step: int, *summaries) -> None:
        values = [value for part in summaries for value in part.value]
        summary = self._summary_pb2.Summary(value=values)
        self._write(self._event_pb2.Event(wall_time=time.time(), step=step, summary=summary))

    def _write(self, event) -> None:
        data = event.SerializeToString()
        header = struct.pack("<Q", len(data))
        with reporting_full_disk(self.path):
            self._file.write(header + struct.pack("<I", self._crc(header)))
            self._file.write(data + struct.pack("<I", self._crc(data)))
            self._file.flush()

    def close(self) -> None:
        # Every event was flushed when written, and a failed one was reported then.
        with contextlib.suppress(OSError):
            self._file.close()


def last_losses_and_curves(
    config: ml_collections.ConfigDict, files: RunFiles, losses: tuple[str, ...], curves: tuple[str, ...]
) -> dict:
    """The given losses (and the Wasserstein estimate, where logged) of the last logged step;
    losses.png drawn from metrics.jsonl with the given curves."""
    rows = files.read_metrics()
    if files.writes:
        plots.plot_curves(files.figure_path("losses.png"), rows, curves, title=config.experiment)
    return {key: rows[-1][key] for key in (*losses, WASSERSTEIN) if rows and key in rows[-1]}
