"""tb-lr-range: the learning-rate range test for Keras, viewed in TensorBoard.

`LRFinder` (the Keras callback) is imported on first use, so that TensorBoard
can load this package's plugin without importing TensorFlow or Keras.
"""

from tb_lr_range.analysis import Suggestion

__version__ = "0.1.0"
__all__ = ["LRFinder", "Suggestion", "__version__"]


def __getattr__(name):
    if name == "LRFinder":
        from tb_lr_range.lr_finder import LRFinder

        return LRFinder
    raise AttributeError(f"module 'tb_lr_range' has no attribute {name!r}")
