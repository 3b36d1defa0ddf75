"""The data sets shipped with metaplasticity, compiled into the extension
(nothing is downloaded), as NumPy arrays.

Each function returns ``(images, labels)``: images ``float32`` of shape
``(N, rows * cols)`` with every pixel ``byte / 255`` in ``[0, 1]``, computed
in float32 exactly as the library feeds a network, and labels ``int64``.
With ``dtype="uint8"`` the images are the raw bytes instead. Both forms are
accepted by :class:`metaplasticity.MetaTrainer`; :func:`metaplasticity.online`
and :class:`metaplasticity.Network` take the float32 form.
"""

from __future__ import annotations

from typing import Tuple

import numpy as np

from . import _core

__all__ = ["fashion_mnist", "load", "mnist", "optdigits"]


def load(name: str, dtype: str = "float32") -> Tuple[np.ndarray, np.ndarray]:
    """A data set by name: ``"mnist"``, ``"optdigits"`` (both shipped) or
    ``"fashion"`` (the training set of the Debian package
    ``dataset-fashion-mnist``, when installed). ``dtype`` is ``"float32"``
    (pixels / 255) or ``"uint8"`` (the bytes).

    Raises:
        ValueError: an unknown name, or Fashion-MNIST not installed (the
            message says how to install it).
    """
    if dtype not in ("float32", "uint8"):
        raise ValueError(f"dtype {dtype!r}: expected 'float32' or 'uint8'")
    images, labels, raw = _core.load_dataset(name)
    return (images if dtype == "float32" else raw), labels


def mnist(dtype: str = "float32") -> Tuple[np.ndarray, np.ndarray]:
    """10,000 MNIST digits of 28x28 (784 pixels), 10 classes, about 1,000
    per class. ``metaplasticity online`` trains on the first 8,000 and
    tests on the last 2,000."""
    return load("mnist", dtype)


def optdigits(dtype: str = "float32") -> Tuple[np.ndarray, np.ndarray]:
    """1,797 handwritten digits of 8x8 (64 pixels, UCI optdigits), 10
    classes."""
    return load("optdigits", dtype)


def fashion_mnist(dtype: str = "float32") -> Tuple[np.ndarray, np.ndarray]:
    """The 60,000 Fashion-MNIST training images of 28x28, 10 classes, from
    the Debian package ``dataset-fashion-mnist`` (``apt-get install -y
    dataset-fashion-mnist``); ValueError when it is not installed."""
    return load("fashion", dtype)
