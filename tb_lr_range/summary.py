"""Writes a range test as a TensorBoard run, in the format of `metadata`.

Each step becomes one event holding all of that step's values. Events are
buffered in memory and written in bulk (`flush`), so writing stays off the
training step's path. Where they go depends on the run directory's scheme:

* Schemes TensorFlow's `tf.io.gfile` knows (local paths, `file://`,
  `gs://`, `ram://`, and whatever a TensorFlow filesystem plugin adds): one
  event file, appended to through TensorFlow's record writer, as TensorFlow's
  own summary writers do.
* `s3://` when TensorFlow does not know it (TensorFlow 2.21 has no S3
  filesystem, and tensorflow-io's plugin does not load into it): objects
  written with boto3, configured the way TensorBoard's own S3 reader is
  (`S3_ENDPOINT`, or boto3's `AWS_ENDPOINT_URL`, credentials and region from
  the usual AWS variables and files). S3 objects cannot be appended to, so
  each flush writes a new, complete event file `<name>.NNNNNNNN` in the run
  directory; TensorBoard reads the event files of a run in name order.

On remote filesystems (any scheme but local) the bulk writes run in a
background thread: `flush` hands the buffered steps over and returns, and
the first error it met is raised by the next `flush` or by `close`.
Opening the writer writes the event file's header synchronously, so an
unreachable or misconfigured log directory fails right there
(`LogDirError`).
"""

import io
import os
import queue
import socket
import threading
import time

from tensorboard.compat.proto import event_pb2
from tensorboard.compat.proto import types_pb2

from tb_lr_range import metadata

_LOCAL_SCHEMES = ("", "file")


class LogDirError(OSError):
    """The run directory cannot be written (unreachable, missing, refused)."""


def scheme_of(path):
    """Returns the scheme of `path`: `"s3"`, `"gs"`, ..., or `""` for local paths."""
    path = os.fspath(path)
    return path.split("://", 1)[0].lower() if "://" in path else ""


def tensorflow_schemes():
    """The filesystem schemes TensorFlow's `tf.io.gfile` supports in this process."""
    import tensorflow as tf  # deferred: the plugin imports this package too

    return tuple(tf.io.gfile.get_registered_schemes())


def filesystem_for(path):
    """Names the layer `RangeTestWriter` writes `path` through.

    Args:
        path: A run or log directory.

    Returns:
        `"tensorflow"` (`tf.io.gfile`) or `"boto3"` (S3 objects).

    Raises:
        LogDirError: For a scheme neither supports, naming those that work.
    """
    scheme = scheme_of(path)
    supported = tensorflow_schemes()
    if scheme in supported:
        return "tensorflow"
    if scheme == "s3":
        return "boto3"
    known = sorted({"s3"} | {name for name in supported if name})
    raise LogDirError(
        f"cannot write {scheme}:// paths: TensorFlow's tf.io.gfile supports "
        f"{', '.join(s + '://' for s in known if s != 's3')} and local paths here, "
        "and tb_lr_range adds s3:// (pip install 'tb-lr-range[s3]')."
    )


class RangeTestWriter:
    """Buffers and writes the summaries of one range test.

    Args:
        run_dir: Directory of the run: a local path, or a URL such as
            `s3://bucket/logs/run1` or `gs://bucket/logs/run1`. Created if
            missing.
        config: Dict describing the test, stored with the `lr` tag.

    Raises:
        LogDirError: When the run directory cannot be written (the error
            says why: unreachable endpoint, missing bucket, credentials,
            unsupported scheme).

    Example:

    >>> writer = RangeTestWriter("/tmp/logs/run1", {"min_lr": 1e-5})
    >>> writer.add(0, {"lr": 1e-5, "loss": 2.3})
    >>> writer.close({"stop_reason": "completed"}, suggested_lr=1e-3)
    """

    def __init__(self, run_dir, config):
        self.run_dir = os.fspath(run_dir)
        self._config = dict(config)
        self._pending = []
        self._described = set()
        self._worker = None
        self._closed = False
        name = "events.out.tfevents.%010d.%s.%d.lr_range" % (
            time.time(), socket.gethostname(), os.getpid())
        header = event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2")
        try:
            if filesystem_for(self.run_dir) == "boto3":
                self._sink = _S3Sink(self.run_dir, name)
            else:
                self._sink = _TFRecordSink(self.run_dir, name)
            self._sink.write([header.SerializeToString()])
        except LogDirError:
            raise
        except Exception as error:
            raise LogDirError(f"{type(error).__name__}: {error}") from error
        self.path = self._sink.path
        if scheme_of(self.run_dir) not in _LOCAL_SCHEMES:
            self._worker = _Worker()

    def add(self, step, values, wall_time=None):
        """Buffers one step's values (a dict of tag to float)."""
        self._pending.append((step, time.time() if wall_time is None else wall_time, values))

    def flush(self, wait=False):
        """Writes every buffered step.

        Local files are written and flushed before this returns. On remote
        filesystems the write runs in the background unless `wait` is True.

        Raises:
            LogDirError: If an earlier background write failed (nothing more
                is written after a failure).
        """
        self._check_open()
        batch, self._pending = self._pending, []
        self._submit(lambda: self._write_steps(batch))
        if wait and self._worker is not None:
            self._worker.wait()
        self._raise_failure()

    def close(self, result, suggested_lr=float("nan"), step=0):
        """Writes what is buffered, then the `result` tag, and closes the file.

        Waits for background writes to finish.

        Args:
            result: JSON-serialisable dict: stop reason, suggestion.
            suggested_lr: The value stored in the `result` scalar.
            step: The step the result is recorded at (the last step).

        Raises:
            LogDirError: If a write failed.
        """
        self._check_open()
        self._closed = True
        batch, self._pending = self._pending, []

        def finish():
            event = self._event(step, time.time(), {metadata.RESULT_TAG: suggested_lr},
                                content={metadata.RESULT_TAG: result})
            self._write_steps(batch, last=event)
            self._sink.close()

        self._submit(finish)
        if self._worker is not None:
            self._worker.stop()
        self._raise_failure()

    def _check_open(self):
        if self._closed:
            raise ValueError(f"the writer of {self.run_dir!r} is closed.")

    def _submit(self, task):
        if self._worker is None:
            self._guarded(task)
        else:
            self._worker.submit(lambda: self._guarded(task))

    def _guarded(self, task):
        try:
            task()
        except LogDirError:
            raise
        except Exception as error:
            raise LogDirError(f"{type(error).__name__}: {error}") from error

    def _raise_failure(self):
        if self._worker is not None and self._worker.error is not None:
            raise self._worker.error

    def _write_steps(self, batch, last=None):
        records = [self._event(step, wall_time, values).SerializeToString()
                   for step, wall_time, values in batch]
        if last is not None:
            records.append(last.SerializeToString())
        if records:
            self._sink.write(records)

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


class _TFRecordSink:
    """One event file, appended to through `tf.io.TFRecordWriter`."""

    def __init__(self, run_dir, name):
        import tensorflow as tf  # deferred: the plugin imports this package too

        tf.io.gfile.makedirs(run_dir)
        self.path = os.path.join(run_dir, name)
        self._records = tf.io.TFRecordWriter(self.path)

    def write(self, records):
        for record in records:
            self._records.write(record)
        self._records.flush()

    def close(self):
        self._records.close()


class _S3Sink:
    """Event files as S3 objects: each `write` puts one new, complete object.

    The objects of one writer are `<name>.00000000`, `<name>.00000001`, ...:
    TensorBoard reads them in that order, each one once it exists.
    """

    def __init__(self, run_dir, name):
        try:
            import boto3
            from botocore.config import Config
        except ImportError as error:
            raise LogDirError(
                "s3:// log directories need boto3: pip install 'tb-lr-range[s3]' "
                "(or pip install boto3)."
            ) from error
        location = run_dir[len("s3://"):]
        bucket, _, prefix = location.partition("/")
        if not bucket:
            raise LogDirError(f"no bucket in {run_dir!r}; expected s3://BUCKET/PATH.")
        prefix = prefix.strip("/")
        self._bucket = bucket
        self._prefix = prefix + "/" + name if prefix else name
        # The endpoint TensorBoard's S3 reader uses; without S3_ENDPOINT,
        # boto3 itself honours AWS_ENDPOINT_URL(_S3) and the AWS config.
        self.endpoint = os.environ.get("S3_ENDPOINT") or None
        try:
            self._client = boto3.client(
                "s3", endpoint_url=self.endpoint,
                config=Config(connect_timeout=10, read_timeout=60))
        except ValueError as error:  # for example an endpoint without http(s)://
            source = ("S3_ENDPOINT=%r" % self.endpoint if self.endpoint else
                      "AWS_ENDPOINT_URL=%r" % os.environ.get("AWS_ENDPOINT_URL"))
            raise LogDirError(
                f"{error} ({source}; it must be a URL such as http://host:port)") from error
        self._count = 0
        self.path = self._url(0)

    def _url(self, index):
        return "s3://%s/%s.%08d" % (self._bucket, self._prefix, index)

    def write(self, records):
        from tensorboard.summary.writer.record_writer import RecordWriter

        buffer = io.BytesIO()
        framing = RecordWriter(buffer)
        for record in records:
            framing.write(record)
        key = "%s.%08d" % (self._prefix, self._count)
        try:
            self._client.put_object(Bucket=self._bucket, Key=key, Body=buffer.getvalue())
        except Exception as error:
            endpoint = self.endpoint or self._client.meta.endpoint_url
            raise LogDirError(
                f"writing {self._url(self._count)} (S3 endpoint {endpoint}) failed: "
                f"{type(error).__name__}: {error}") from error
        self._count += 1

    def close(self):
        pass


class _Worker:
    """One background thread running writes in order; stops at the first error."""

    def __init__(self):
        self.error = None
        self._tasks = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="tb_lr_range-writer",
                                        daemon=True)
        self._thread.start()

    def submit(self, task):
        self._tasks.put(task)

    def wait(self):
        """Blocks until every task submitted so far has run (or was skipped)."""
        done = threading.Event()
        self._tasks.put(done)
        done.wait()

    def stop(self):
        """Runs what is queued, then ends the thread."""
        self._tasks.put(None)
        self._thread.join()

    def _run(self):
        while True:
            task = self._tasks.get()
            if task is None:
                return
            if isinstance(task, threading.Event):
                task.set()
            elif self.error is None:
                try:
                    task()
                except BaseException as error:  # reported to the training thread
                    self.error = error if isinstance(error, LogDirError) else LogDirError(
                        f"{type(error).__name__}: {error}")
