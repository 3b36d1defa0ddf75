"""Type stubs of the compiled core ``metaplasticity._core`` (PyO3). Use the
package ``metaplasticity``, which wraps it; these functions take arrays
already in the dtypes named here."""

from typing import List, Optional, Sequence, Tuple

import numpy as np
import numpy.typing as npt

class DivergedError(RuntimeError):
    """Online learning or a meta-training episode diverged."""

class Network:
    """A network of any widths with its feedback pathway (see
    ``metaplasticity.Network``)."""

    def __init__(self, widths: Sequence[int], feedback: str = "fa", seed: int = 0, feedback_init: str = "uniform") -> None: ...
    @property
    def widths(self) -> List[int]: ...
    @property
    def feedback(self) -> str: ...
    @property
    def beta(self) -> float: ...
    def permutation(self, n: int) -> npt.NDArray[np.int64]: ...
    def learn(
        self,
        images: npt.NDArray[np.float32],
        labels: npt.NDArray[np.int64],
        rule: str = "fa",
        theta: Optional[Sequence[float]] = None,
        layers: Optional[Sequence[Optional[Sequence[int]]]] = None,
    ) -> npt.NDArray[np.float64]: ...
    def check(self, images: npt.NDArray[np.float32], labels: Optional[npt.NDArray[np.int64]] = None) -> None: ...
    def predict(self, images: npt.NDArray[np.float32]) -> npt.NDArray[np.int64]: ...
    def correct(self, images: npt.NDArray[np.float32], labels: npt.NDArray[np.int64]) -> int: ...
    def weights(self) -> List[npt.NDArray[np.float32]]: ...
    def set_weights(self, weights: Sequence[npt.NDArray[np.float32]]) -> None: ...

class MetaTrainer:
    """The meta-trainer (see ``metaplasticity.MetaTrainer``)."""

    def __init__(
        self,
        data: str,
        images: Optional[npt.NDArray[np.uint8]] = None,
        labels: Optional[npt.NDArray[np.int64]] = None,
        data_classes: Optional[int] = None,
        widths: Optional[Sequence[int]] = None,
        rule: str = "bio",
        feedback: Optional[str] = None,
        theta: Optional[Sequence[float]] = None,
        layers: Optional[Sequence[Optional[Sequence[int]]]] = None,
        freeze: Sequence[int] = ...,
        classes: int = 5,
        train: int = 50,
        query: int = 10,
        sampling: str = "disjoint",
        penalty: str = "none",
        lambda_: float = 1e-3,
        lr: float = 1e-3,
        seed: int = 0,
        feedback_init: str = "uniform",
        checkpoint_interval: int = 16,
        reversal: str = "recompute",
        on_divergence: Optional[str] = None,
        robust: bool = False,
        step_scale: Optional[str] = None,
        l1: Optional[str] = None,
        optimizer: Optional[str] = None,
        backoff_shrink: float = 0.5,
        backoff_tries: int = 4,
        backoff_depth: int = 1,
    ) -> None: ...
    def episode(self) -> dict: ...
    @property
    def episodes(self) -> int: ...
    @property
    def theta(self) -> List[float]: ...
    @property
    def terms(self) -> List[str]: ...
    @property
    def widths(self) -> List[int]: ...
    @property
    def feedback(self) -> str: ...
    @property
    def beta(self) -> float: ...
    @property
    def rates(self) -> List[float]: ...
    def rule_bytes(self) -> bytes: ...

def load_dataset(name: str) -> Tuple[npt.NDArray[np.float32], npt.NDArray[np.int64], npt.NDArray[np.uint8]]:
    """A data set by name: float32 images (byte / 255), int64 labels, uint8 images."""

def float_to_pixels(images: npt.NDArray[np.float32]) -> npt.NDArray[np.uint8]:
    """8-bit pixels from float32 images that are exactly k / 255."""

def decode_rule(bytes: bytes) -> Tuple[List[int], float, List[Tuple[int, List[int], float]]]:
    """Decodes a rule file: widths, beta, and (pool index, layers, theta) per term."""

def check_rule(
    rule: str,
    theta: Optional[Sequence[float]] = None,
    layers: Optional[Sequence[Optional[Sequence[int]]]] = None,
    depth: int = 15,
) -> List[str]:
    """Checks a rule; returns its term names."""

def pool_names() -> List[str]:
    """The pool's term names F0 .. F9."""

def feedback_names() -> List[Tuple[str, str]]:
    """The feedback pathways' short names, each with a description."""
