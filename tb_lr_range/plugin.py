"""The LR Range tab: TensorBoard plugin backend.

`LRRangeLoader` is registered through the `tensorboard_plugins` entry point.
It makes TensorBoard keep every step of a range test, then builds
`LRRangePlugin`, which reads range tests through TensorBoard's data provider
(so `--load_fast=true` and `--load_fast=false` behave alike) and serves these
routes under `data/plugin/lr_range/`:

* `GET index.js`, `GET static/<name>`: the panel's files (`.js`, `.css`,
  `.html`, `.svg` of `tb_lr_range.frontend`); 404 for anything else.
* `GET runs` -> `{"runs": [{"run", "status", "config", "result", "series",
  "last_step"}]}`, sorted by run name. `status` is `"finished"` once the
  `result` tag exists, else `"running"`; `result` is `{"stop_reason",
  "steps", "suggestion"}` or null; `series` lists history names (`loss`,
  metrics, `val_loss`, validation metrics).
* `GET curves?run=A[&run=B...][&series=loss...][&smoothing=s][&method=m]` ->
  `{"smoothing", "method", "runs": [{"run", "mode", "status",
  "stop_reason", "smoothing", "series": {name: {"step", "lr", "value",
  "smoothed", "derivative", "higher_is_better", "suggestion"}}}]}`, runs in
  request order. `run` is required and repeatable; `series` repeatable,
  default `loss`; `smoothing` in [0, 1), default each run's configured
  smoothing (the top-level `smoothing` is then the first run's); `method`
  one of `analysis.METHODS`, default `analysis.DEFAULT_METHOD` (`minimum`). `suggestion` is null when a
  curve is too short to read.

JSON cannot hold NaN or infinities: they are sent as the strings `"NaN"`,
`"Infinity"` and `"-Infinity"` (TensorBoard's own convention). Errors are
plain-text responses: 400 for a missing or malformed parameter (naming it and
its accepted values), 404 for an unknown run, a series a run did not record
(listing those it did) or an unknown file.

This module imports neither TensorFlow nor Keras, so that TensorBoard starts
quickly and without them.
"""

import math
import os
import re

from werkzeug import wrappers

from tensorboard import errors
from tensorboard import plugin_util
from tensorboard.backend import http_util
from tensorboard.data import provider
from tensorboard.plugins import base_plugin
from tensorboard.util import tb_logging

from tb_lr_range import analysis
from tb_lr_range import curves
from tb_lr_range import metadata

logger = tb_logging.get_logger()

# `downsample` for "every point": large enough for any range test, and a valid
# int64 for the Rust data server.
_ALL_POINTS = 2**31 - 1
_STATIC_PREFIX = "/data/plugin/%s/static/" % metadata.PLUGIN_NAME
_STATIC_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".svg": "image/svg+xml",
}
_SAFE_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


class LRRangeLoader(base_plugin.TBLoader):
    """Loads `LRRangePlugin`, and makes TensorBoard keep every step.

    TensorBoard keeps 10 samples per tag of an unknown plugin (Python loader)
    and 1000 (Rust loader). Unless the user passed `--samples_per_plugin
    lr_range=N`, `fix_flags` adds `lr_range=0`, which both loaders read as
    "keep all". A user's N > 0 is honoured: the plugin then asks the data
    provider for at most N points per series.

    Example:

    ```
    tensorboard --logdir logs                                   # every step
    tensorboard --logdir logs --samples_per_plugin lr_range=500  # 500 points
    ```
    """

    def __init__(self):
        self._user_samples = None

    def fix_flags(self, flags):
        """Adds `lr_range=0` to `flags.samples_per_plugin` unless given.

        Never raises: a surprising `flags` object is left as it is.

        Args:
            flags: TensorBoard's parsed `argparse.Namespace`.
        """
        samples = getattr(flags, "samples_per_plugin", None)
        if samples is None:
            samples = {}
            try:
                flags.samples_per_plugin = samples
            except AttributeError:
                return
        if not isinstance(samples, dict):
            return
        if metadata.PLUGIN_NAME in samples:
            self._user_samples = samples[metadata.PLUGIN_NAME]
        else:
            samples[metadata.PLUGIN_NAME] = 0

    def load(self, context):
        """Returns the plugin.

        Args:
            context: The `base_plugin.TBContext`.

        Returns:
            An `LRRangePlugin`.
        """
        return LRRangePlugin(context, samples=self._user_samples)


class LRRangePlugin(base_plugin.TBPlugin):
    """Serves range tests written by `LRFinder(log_dir=...)` to the LR Range tab.

    Args:
        context: A `base_plugin.TBContext`; only its `data_provider` and
            `sampling_hints` are used.
        samples: Points per series to read: a positive int downsamples to
            it, 0 or None reads every point. When None, taken from
            `context.sampling_hints["lr_range"]`.

    Example:

    ```python
    plugin = LRRangePlugin(base_plugin.TBContext(data_provider=provider))
    app = application.TensorBoardWSGI([plugin])
    ```
    """

    plugin_name = metadata.PLUGIN_NAME

    def __init__(self, context, samples=None):
        self._provider = context.data_provider
        if samples is None:
            samples = (context.sampling_hints or {}).get(metadata.PLUGIN_NAME)
        positive = isinstance(samples, int) and samples > 0
        self._downsample = samples if positive else _ALL_POINTS

    def get_plugin_apps(self):
        """Routes, relative to `data/plugin/lr_range`, to WSGI apps.

        Returns:
            A dict for `index.js`, `static/*`, `runs` and `curves`.
        """
        return {
            "/index.js": self._serve_index,
            "/static/*": self._serve_static,
            "/runs": self._serve_runs,
            "/curves": self._serve_curves,
        }

    def is_active(self):
        """Whether any run holds range-test data.

        TensorBoard 2.21 answers this from `data_plugin_names()` first; this
        is the fallback, and never raises.
        """
        if self._provider is None:
            return False
        try:
            return metadata.PLUGIN_NAME in self._provider.list_plugins(
                plugin_util.context({}), experiment_id="")
        except Exception:  # A broken provider must not break the plugin listing.
            logger.warning("lr_range: cannot list plugins", exc_info=True)
            return False

    def data_plugin_names(self):
        """The plugin name of the summaries this plugin reads: `("lr_range",)`."""
        return (metadata.PLUGIN_NAME,)

    def frontend_metadata(self):
        """The tab: the ES module `index.js`, titled "LR Range"."""
        return base_plugin.FrontendMetadata(es_module_path="/index.js", tab_name="LR Range")

    # ------------------------------------------------------------------ routes

    @wrappers.Request.application
    def _serve_index(self, request):
        return self._static_file(request, "index.js")

    @wrappers.Request.application
    def _serve_static(self, request):
        path = request.path
        name = path[len(_STATIC_PREFIX):] if path.startswith(_STATIC_PREFIX) else ""
        return self._static_file(request, name)

    @wrappers.Request.application
    def _serve_runs(self, request):
        """`{"runs": [summary, ...]}`, sorted by run name (see `curves.run_summary`)."""
        runs = []
        if self._provider is not None:
            listing = self._provider.list_scalars(
                plugin_util.context(request.environ),
                experiment_id=plugin_util.experiment_id(request.environ),
                plugin_name=metadata.PLUGIN_NAME,
            )
            runs = [curves.run_summary(run, tags) for run, tags in sorted(listing.items())]
        return _json(request, {"runs": runs})

    @wrappers.Request.application
    def _serve_curves(self, request):
        """The curves of several runs in one response; see the module docstring."""
        args = request.args
        runs = _unique(args.getlist("run"))
        if not runs or not all(runs):
            raise errors.InvalidArgumentError(
                "Parameter `run` is required: give one or more non-empty run names, "
                "as in `curves?run=A&run=B`.")
        names = _unique(args.getlist("series")) or [metadata.LOSS_TAG]
        if not all(names):
            raise errors.InvalidArgumentError(
                "Parameter `series` must be a non-empty series name such as `loss`, "
                "`accuracy` or `val_loss`.")
        smoothing = _parse_smoothing(args.get("smoothing"))
        method = _parse_method(args.get("method"))
        if self._provider is None:
            raise errors.NotFoundError("No LR range test named %r." % runs[0])

        ctx = plugin_util.context(request.environ)
        experiment = plugin_util.experiment_id(request.environ)
        listing = self._provider.list_scalars(
            ctx, experiment_id=experiment, plugin_name=metadata.PLUGIN_NAME,
            run_tag_filter=provider.RunTagFilter(
                runs=runs, tags=[metadata.LR_TAG, metadata.RESULT_TAG]),
        )
        tags = [metadata.LR_TAG] + [metadata.metric_tag(name) for name in names]
        data = self._provider.read_scalars(
            ctx, experiment_id=experiment, plugin_name=metadata.PLUGIN_NAME,
            downsample=self._downsample,
            run_tag_filter=provider.RunTagFilter(runs=runs, tags=tags),
        )
        unknown = [run for run in runs if run not in listing and run not in data]
        if unknown:
            raise errors.NotFoundError(
                "No LR range test named %s." % ", ".join(repr(run) for run in unknown))
        self._check_series(ctx, experiment, runs, names, data)

        body = [curves.run_curves(run, listing.get(run, {}), data.get(run, {}), names, smoothing,
                                  method)
                for run in runs]
        effective = smoothing if smoothing is not None else body[0]["smoothing"]
        return _json(request, {"smoothing": effective, "method": method, "runs": body})

    # ----------------------------------------------------------------- helpers

    def _check_series(self, ctx, experiment, runs, names, data):
        """Raises NotFoundError for the first run lacking a requested series."""
        for run in runs:
            missing = [name for name in names
                       if metadata.metric_tag(name) not in data.get(run, {})]
            if not missing:
                continue
            listing = self._provider.list_scalars(
                ctx, experiment_id=experiment, plugin_name=metadata.PLUGIN_NAME,
                run_tag_filter=provider.RunTagFilter(runs=[run]),
            )
            recorded = curves.series_names(listing.get(run, {}))
            raise errors.NotFoundError(
                "Run %r has no series %s; it recorded: %s." % (
                    run, ", ".join(repr(name) for name in missing),
                    ", ".join(recorded) or "nothing yet"))

    def _static_file(self, request, name):
        """Responds with a file of the panel, or raises NotFoundError."""
        path = _static_path(name)
        if path is None:
            raise errors.NotFoundError("No panel file named %r." % name)
        with open(path, "rb") as source:
            content = source.read()
        return http_util.Respond(request, content, _STATIC_TYPES[os.path.splitext(path)[1]])


def _parse_smoothing(text):
    """None when absent, else a float in [0, 1); InvalidArgumentError otherwise."""
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value < 1:
        raise errors.InvalidArgumentError(
            "Parameter `smoothing` must be a number in [0, 1) such as 0.98, got %r." % text)
    return value


def _parse_method(text):
    """`analysis.DEFAULT_METHOD` when absent, else one of `analysis.METHODS`."""
    if text is None:
        return analysis.DEFAULT_METHOD
    if text not in analysis.METHODS:
        raise errors.InvalidArgumentError(
            "Parameter `method` must be one of %s, got %r." % (", ".join(analysis.METHODS), text))
    return text


def _unique(items):
    return list(dict.fromkeys(items))


def _json(request, document):
    return http_util.Respond(request, curves.dumps(document), "application/json")


def _static_path(name):
    """The file `name` of the panel's directory, or None if not servable."""
    segments = name.split("/")
    if not name or not all(_SAFE_SEGMENT.match(segment) for segment in segments):
        return None
    if os.path.splitext(name)[1] not in _STATIC_TYPES:
        return None
    try:
        from tb_lr_range import frontend
    except ImportError:
        return None
    root = os.path.realpath(os.path.dirname(frontend.__file__))
    path = os.path.realpath(os.path.join(root, *segments))
    if not path.startswith(root + os.sep) or not os.path.isfile(path):
        return None
    return path
