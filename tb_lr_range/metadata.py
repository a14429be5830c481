"""The on-disk format of a range test, shared by the writer and the plugin.

One range test is one TensorBoard run: a directory holding its event file (on
storage that cannot append, such as S3, one event file per flush).
Every value is a rank-0 float32 scalar summary whose `SummaryMetadata` names
the plugin `lr_range` and has `data_class=DATA_CLASS_SCALAR`, so both of
TensorBoard's loaders keep it and `list_scalars`/`read_scalars` return it.

Tags, all stepped by the range test's step (0, 1, 2, ...):

* `lr`: the learning rate used for the step. Its plugin content is the test's
  configuration as JSON (see `config_content`).
* `loss`: the batch's own training loss (not Keras's running epoch mean).
* `metric/<name>`: the batch's own value of each compiled metric.
* `val_loss` and `val_metric/<name>`: validation values, at the steps where
  validation was evaluated.
* `result`: written once when the test ends; its value is the suggested
  learning rate and its plugin content is JSON with the stop reason and the
  suggestion. A run without it is still running (or was killed).

This module imports neither TensorFlow nor Keras: the TensorBoard plugin
imports it at start-up.
"""

import json

from tensorboard.compat.proto import summary_pb2

PLUGIN_NAME = "lr_range"
FORMAT_VERSION = 1

LR_TAG = "lr"
LOSS_TAG = "loss"
VAL_LOSS_TAG = "val_loss"
RESULT_TAG = "result"
METRIC_PREFIX = "metric/"
VAL_METRIC_PREFIX = "val_metric/"


def metric_tag(name, validation=False):
    """Returns the tag under which a series named `name` is stored.

    Args:
        name: A series name as it appears in `LRFinder.history`, for example
            `"loss"`, `"accuracy"`, `"val_loss"` or `"val_accuracy"`.
        validation: Whether `name` is a validation series without its `val_`
            prefix.

    Returns:
        The tag string.

    Example:

    >>> metric_tag("accuracy")
    'metric/accuracy'
    >>> metric_tag("val_accuracy")
    'val_metric/accuracy'
    """
    if validation:
        name = "val_" + name
    if name in (LOSS_TAG, VAL_LOSS_TAG):
        return name
    if name.startswith("val_"):
        return VAL_METRIC_PREFIX + name[len("val_"):]
    return METRIC_PREFIX + name


def series_name(tag):
    """Inverse of `metric_tag`: the history name of a series tag, or None.

    Args:
        tag: A tag found in a range-test run.

    Returns:
        `"loss"`, `"val_loss"`, a metric name such as `"accuracy"` or
        `"val_accuracy"`, or None for tags that are not series (`lr`,
        `result`, unknown tags).
    """
    if tag in (LOSS_TAG, VAL_LOSS_TAG):
        return tag
    if tag.startswith(METRIC_PREFIX):
        return tag[len(METRIC_PREFIX):] or None
    if tag.startswith(VAL_METRIC_PREFIX):
        rest = tag[len(VAL_METRIC_PREFIX):]
        return "val_" + rest if rest else None
    return None


def create_summary_metadata(content=None):
    """Creates the `SummaryMetadata` proto for one range-test tag.

    Args:
        content: Optional dict stored as JSON in `plugin_data.content`.

    Returns:
        A `summary_pb2.SummaryMetadata`.
    """
    payload = b"" if content is None else encode_content(content)
    return summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(
            plugin_name=PLUGIN_NAME, content=payload
        ),
        data_class=summary_pb2.DATA_CLASS_SCALAR,
    )


def encode_content(content):
    """Encodes a JSON-serialisable dict as plugin content bytes."""
    document = dict(content)
    document.setdefault("version", FORMAT_VERSION)
    return json.dumps(document, sort_keys=True, allow_nan=True).encode("utf-8")


def parse_content(payload):
    """Decodes plugin content bytes written by `encode_content`.

    Args:
        payload: The `plugin_content` bytes of a tag's metadata.

    Returns:
        A dict; empty when the content is missing or unreadable, so a damaged
        run degrades to "no configuration" instead of an error.
    """
    if not payload:
        return {}
    try:
        document = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}
