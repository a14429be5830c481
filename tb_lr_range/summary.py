"""Writes a range test as a TensorBoard run, in the format of `metadata`.

Each step becomes one event holding all of that step's values. Events are
buffered in memory and written in bulk (`flush`), through TensorFlow's
record writer and `tf.io.gfile`, so local, `gs://` and other filesystems that
TensorFlow knows all work, and writing stays off the training step's path.
"""

import os
import socket
import time

from tensorboard.compat.proto import event_pb2
from tensorboard.compat.proto import types_pb2

from tb_lr_range import metadata


class RangeTestWriter:
    """Buffers and writes the summaries of one range test.

    Args:
        run_dir: Directory of the run; created if missing.
        config: Dict describing the test, stored with the `lr` tag.

    Example:

    >>> writer = RangeTestWriter("/tmp/logs/run1", {"min_lr": 1e-5})
    >>> writer.add(0, {"lr": 1e-5, "loss": 2.3})
    >>> writer.close({"stop_reason": "completed"}, suggested_lr=1e-3)
    """

    def __init__(self, run_dir, config):
        import tensorflow as tf  # deferred: the plugin imports this package too

        self._tf = tf
        self.run_dir = run_dir
        self._config = dict(config)
        self._pending = []
        self._described = set()
        tf.io.gfile.makedirs(run_dir)
        name = "events.out.tfevents.%010d.%s.%d.lr_range" % (
            time.time(), socket.gethostname(), os.getpid())
        self.path = os.path.join(run_dir, name)
        self._records = tf.io.TFRecordWriter(self.path)
        self._records.write(
            event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2").SerializeToString()
        )
        self._records.flush()

    def add(self, step, values, wall_time=None):
        """Buffers one step's values (a dict of tag to float)."""
        self._pending.append((step, time.time() if wall_time is None else wall_time, values))

    def flush(self):
        """Writes every buffered step and flushes the file."""
        for step, wall_time, values in self._pending:
            self._records.write(self._event(step, wall_time, values).SerializeToString())
        self._pending = []
        self._records.flush()

    def close(self, result, suggested_lr=float("nan"), step=0):
        """Writes what is buffered, then the `result` tag, and closes the file.

        Args:
            result: JSON-serialisable dict: stop reason, suggestion.
            suggested_lr: The value stored in the `result` scalar.
            step: The step the result is recorded at (the last step).
        """
        self.flush()
        event = self._event(step, time.time(), {metadata.RESULT_TAG: suggested_lr},
                            content={metadata.RESULT_TAG: result})
        self._records.write(event.SerializeToString())
        self._records.close()

    def _event(self, step, wall_time, values, content=None):
        event = event_pb2.Event(wall_time=wall_time, step=step)
        for tag, number in values.items():
            value = event.summary.value.add(tag=tag)
            if tag not in self._described:
                self._described.add(tag)
                tag_content = (content or {}).get(tag)
                if tag == metadata.LR_TAG:
                    tag_content = self._config
                value.metadata.CopyFrom(metadata.create_summary_metadata(tag_content))
            value.tensor.dtype = types_pb2.DT_FLOAT
            value.tensor.float_val.append(number)
        return event
