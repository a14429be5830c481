"""Packaging for tb-lr-range: the LRFinder callback and the LR Range TensorBoard tab."""

import os

import setuptools

HERE = os.path.dirname(os.path.abspath(__file__))

with open(os.path.join(HERE, "README.md"), encoding="utf-8") as readme:
    LONG_DESCRIPTION = readme.read()

setuptools.setup(
    name="tb-lr-range",
    version="0.1.0",
    description="Learning-rate range test for Keras, viewed in TensorBoard's LR Range tab.",
    long_description=LONG_DESCRIPTION,
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.9",
    packages=["tb_lr_range", "tb_lr_range.frontend"],
    # The panel lives at the top of the repository, and ships inside the package.
    package_dir={"tb_lr_range.frontend": "frontend"},
    package_data={"tb_lr_range.frontend": ["*.js", "*.css", "*.html", "*.svg"]},
    install_requires=[
        "tensorflow>=2.16",
        "tensorboard>=2.16",
        "numpy",
        "werkzeug",
    ],
    extras_require={
        "plots": ["matplotlib"],
        # s3:// log directories: the writer puts objects with boto3.
        "s3": ["boto3"],
        "test": [
            "matplotlib",
            "pytest",
            "scikit-learn",
            "playwright",
            "jax",
            "boto3",
            "moto[server]>=5",
        ],
    },
    entry_points={
        "tensorboard_plugins": [
            "lr_range = tb_lr_range.plugin:LRRangeLoader",
        ],
    },
    classifiers=[
        "Framework :: TensorFlow",
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
