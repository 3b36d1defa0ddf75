"""Meta-learning local plasticity rules that train deep networks through fixed
random feedback pathways (Shervani-Tabar & Rosenbaum, Nat. Commun. 14, 1805,
2023): Python bindings of the Rust library ``metaplasticity``.

* :class:`Network`: a network of any widths with a feedback pathway (``bp``,
  ``fa``, ``dfa``, ``usf``, ``frsf``, ``brsf``, ``kp``) that learns online, one sample at a
  time, with a plasticity rule;
* :func:`online`: one pass of online learning with accuracy on held-out
  data, exactly as ``metaplasticity online`` computes it;
* :class:`MetaTrainer`: meta-learns the coefficients Theta of a rule with
  the options of ``metaplasticity meta-train`` (same options, same numbers);
* :func:`load_rule` and :meth:`MetaTrainer.save_rule`: the ``.mprl`` rule
  files the firmware reads;
* :mod:`metaplasticity.datasets`: the shipped MNIST digits and 8x8 optdigits.

Rules are named as on the command line: ``"fa"`` (``F^0`` alone, also
``"F0"``), ``"ehebb"`` (``F^0, F^2``), ``"oja"`` (``F^0, F^9``), ``"bio"``
(``F^0, F^2, F^9``), ``"pool"`` (``F^0 .. F^9``), or a list of pool indices
such as ``[0, 2, 9]`` (or the string ``"0,2,9"``), each with coefficients
``theta`` (one per term) and optionally the layers each term acts on.

Bad input raises :class:`ValueError` with the library's message; a run
that overflows raises :class:`DivergedError`. The interpreter is released
while networks learn and episodes run, so other Python threads go on.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from . import _core, datasets
from ._core import DivergedError

__all__ = [
    "DivergedError",
    "FEEDBACK",
    "MetaTrainer",
    "Network",
    "OnlineResult",
    "POOL",
    "RULES",
    "RuleFile",
    "TermRecord",
    "datasets",
    "load_rule",
    "online",
    "paper_widths",
    "records_table",
]

__version__ = "0.1.0"

#: Names of the pool's terms, ``POOL[r]`` is ``F^r`` (``"F0" .. "F9"``).
POOL: Tuple[str, ...] = tuple(_core.pool_names())
#: The named rules (``fa``, ``bp`` and ``dfa`` are ``F^0`` alone; for the
#: meta-trainer they also choose the pathway, as on the command line).
RULES: Tuple[str, ...] = ("fa", "bp", "dfa", "ehebb", "oja", "bio", "pool")
#: The feedback pathways' short names: ``bp`` (backprop), ``fa`` (feedback
#: alignment), ``dfa`` (direct feedback alignment), ``usf`` (uniform
#: sign-concordant), ``frsf`` (sign-concordant, fixed random magnitudes),
#: ``brsf`` (sign-concordant, magnitudes redrawn at every step), ``kp``
#: (Kolen-Pollack, plastic).
FEEDBACK: Tuple[str, ...] = tuple(name for name, _ in _core.feedback_names())

#: The paper's hidden widths (784-170-130-100-70-10 on MNIST).
PAPER_HIDDEN: Tuple[int, ...] = (170, 130, 100, 70)

#: Default ``theta_0`` of online learning, as ``metaplasticity online --theta0``.
ONLINE_THETA0 = 0.01

RuleLike = Union[str, Sequence[int], "RuleFile"]


class TermRecord(NamedTuple):
    """One term of a rule file: ``F^pool_index`` with coefficient ``theta``
    on the weight layers ``layers`` (numbers ``1 .. L``)."""

    pool_index: int
    layers: Tuple[int, ...]
    theta: float

    @property
    def name(self) -> str:
        """The term's name, ``"F0" .. "F9"``."""
        return POOL[self.pool_index]


@dataclasses.dataclass(frozen=True)
class RuleFile:
    """A decoded ``.mprl`` rule file (see :func:`load_rule`): the widths of
    the network the rule was learned for, the softplus sharpness ``beta``
    and the terms. Pass it as ``rule=`` to :func:`online` or
    :meth:`Network.learn` to learn with it."""

    widths: Tuple[int, ...]
    beta: float
    terms: Tuple[TermRecord, ...]

    @property
    def theta(self) -> List[float]:
        """The coefficients, one per term."""
        return [t.theta for t in self.terms]

    @property
    def rule(self) -> str:
        """The terms as a rule spec, e.g. ``"0,2,9"``."""
        return ",".join(str(t.pool_index) for t in self.terms)

    @property
    def layers(self) -> List[List[int]]:
        """The layers of each term."""
        return [list(t.layers) for t in self.terms]


def load_rule(path: Union[str, "Path"]) -> RuleFile:
    """Reads a rule file (``.mprl``, as ``metaplasticity meta-train`` and
    :meth:`MetaTrainer.save_rule` write it). Raises ValueError if the file
    is not a valid rule file (bad magic, version, checksum, term index),
    with the library's message; OSError if it cannot be read."""
    widths, beta, terms = _core.decode_rule(Path(path).read_bytes())
    return RuleFile(
        widths=tuple(int(w) for w in widths),
        beta=float(beta),
        terms=tuple(TermRecord(int(r), tuple(int(l) for l in layers), float(t)) for r, layers, t in terms),
    )


def paper_widths(pixels: int, classes: int) -> List[int]:
    """The paper's network for data of ``pixels`` inputs and ``classes``
    classes: ``[pixels, 170, 130, 100, 70, classes]`` (the command-line
    tool's default ``--widths``)."""
    return [int(pixels), *PAPER_HIDDEN, int(classes)]


def _rule_spec(
    rule: RuleLike, theta: Optional[Sequence[float]], layers: Optional[Sequence[Optional[Sequence[int]]]]
) -> Tuple[str, Optional[List[float]], Optional[List[Optional[List[int]]]]]:
    """A rule as the core takes it: a name or ``"0,2,9"``, with theta and
    layers (a RuleFile gives its own unless they are given)."""
    if isinstance(rule, RuleFile):
        spec = rule.rule
        theta = rule.theta if theta is None else theta
        layers = rule.layers if layers is None else layers
    elif isinstance(rule, str):
        spec = rule.strip()
        low = spec.lower()
        if low.startswith("f^"):
            low = low[2:]
        if low in ("f0", "0"):
            low = "fa"
        spec = low if low in RULES else spec
    else:
        try:
            items = list(rule)
        except TypeError:
            raise ValueError(f"rule {rule!r}: expected a name ({', '.join(RULES)}), pool indices like [0, 2, 9], or a RuleFile") from None
        if not items or not all(isinstance(r, (int, np.integer)) and not isinstance(r, bool) for r in items):
            raise ValueError(f"rule {rule!r}: pool indices must be whole numbers 0-9, at least one")
        spec = ",".join(str(int(r)) for r in items)
    theta_list = None if theta is None else [float(t) for t in np.asarray(theta, dtype=np.float64).reshape(-1)]
    layer_list = None
    if layers is not None:
        layer_list = [None if ls is None else [int(l) for l in ls] for ls in layers]
    return spec, theta_list, layer_list


def _online_theta(spec: str, theta: Optional[List[float]], layers: Any) -> List[float]:
    """Theta for online learning: as given, else ``theta_0 = 0.01`` (the
    command line's ``--theta0``) and the other coefficients 0."""
    if theta is not None:
        return theta
    names = _core.check_rule(spec, None, None)
    return [ONLINE_THETA0] + [0.0] * (len(names) - 1)


def _images(images: Any, what: str = "images") -> np.ndarray:
    """Images as a C-contiguous float32 array of shape (N, pixels)."""
    x = np.asarray(images)
    if x.ndim == 3:
        x = x.reshape(x.shape[0], -1)
    if x.ndim != 2:
        raise ValueError(f"{what} must be an array of shape (N, pixels) or (N, rows, cols), not {x.shape}")
    if x.dtype == np.uint8:
        raise ValueError(
            f"{what} are uint8: pass float32 pixels in [0, 1] (e.g. images / np.float32(255), "
            "as metaplasticity.datasets returns them)"
        )
    if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
        raise ValueError(f"{what} must hold numbers, not {x.dtype}")
    return np.ascontiguousarray(x, dtype=np.float32)


def _labels(labels: Any, what: str = "labels") -> np.ndarray:
    """Labels as a C-contiguous int64 array of shape (N,)."""
    y = np.asarray(labels)
    if y.ndim != 1:
        raise ValueError(f"{what} must be a 1-D array of class numbers, not of shape {y.shape}")
    if y.size and not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{what} must be whole numbers (an integer array), not {y.dtype}")
    return np.ascontiguousarray(y, dtype=np.int64)


class Network:
    """A fully connected network (bias-free, softplus hidden units, softmax
    output) of any widths with a feedback pathway, learning online: one
    sample at a time, batch size one, every layer updated by a local
    plasticity rule from the modulating signals the pathway sends.

    Args:
        widths: ``n_0, n_1, ..., n_L``: input first (the pixels per image),
            classes last; 2 to 16 widths, none zero.
        feedback: the pathway: ``"fa"`` (feedback alignment, fixed random
            ``B_l``), ``"bp"`` (backprop), ``"dfa"`` (direct feedback
            alignment), ``"usf"`` (``c_l sign(W_{l+1})^T``), ``"frsf"``
            (``|R_l| * sign(W_{l+1})^T``), ``"brsf"`` (the same with
            ``R_l`` redrawn at every step) or ``"kp"`` (Kolen-Pollack:
            ``B_l`` learns the transposed forward update and decays; in
            :meth:`learn` with ``eta_B`` the rule's ``theta_0`` and
            ``lambda_B = 1e-4``, as ``metaplasticity online --feedback kp``).
        seed: seeds the generator that draws the forward weights
            (Xavier-uniform), then the pathway's matrices, then the orders
            of :meth:`permutation`, as ``metaplasticity online`` does.
        feedback_init: ``"uniform"`` (Xavier-uniform) or ``"normal"``.

    Raises:
        ValueError: widths that make no network, an unknown pathway.
    """

    def __init__(self, widths: Sequence[int], feedback: str = "fa", *, seed: int = 0, feedback_init: str = "uniform"):
        self._core = _core.Network([int(w) for w in widths], feedback, int(seed), feedback_init)

    @property
    def widths(self) -> List[int]:
        """The widths ``n_0 .. n_L``."""
        return self._core.widths

    @property
    def depth(self) -> int:
        """The number of weight layers ``L``."""
        return len(self._core.widths) - 1

    @property
    def feedback(self) -> str:
        """The pathway's short name."""
        return self._core.feedback

    @property
    def beta(self) -> float:
        """The softplus sharpness of the hidden units (10, as in the paper)."""
        return self._core.beta

    def permutation(self, n: int) -> np.ndarray:
        """A random order of ``0 .. n-1`` (int64) from the network's
        generator (Fisher-Yates with the library's ``init::index``): the
        order in which ``metaplasticity online`` presents its training
        digits."""
        return self._core.permutation(int(n))

    def learn(
        self,
        images: Any,
        labels: Any,
        rule: RuleLike = "fa",
        theta: Optional[Sequence[float]] = None,
        layers: Optional[Sequence[Optional[Sequence[int]]]] = None,
    ) -> np.ndarray:
        """Learns from each image in order, one online step per image.

        Args:
            images: float32 pixels, shape ``(N, n_0)`` (or ``(N, rows,
                cols)``), finite; ``[0, 1]`` as the shipped data.
            labels: classes ``0 .. n_L - 1``, shape ``(N,)``.
            rule: a named rule (``"fa"``/``"F0"``, ``"ehebb"``, ``"oja"``,
                ``"bio"``, ``"pool"``), pool indices such as ``[0, 2, 9]``,
                or a :class:`RuleFile`.
            theta: one coefficient per term; default ``theta_0 = 0.01``
                (``metaplasticity online``'s ``--theta0``), the others 0
                (a RuleFile's own coefficients for a RuleFile).
            layers: per term, the layers ``1 .. L`` it acts on, or None for
                every layer (default: every layer).

        Returns:
            Each sample's cross-entropy before its update (float64).

        Raises:
            ValueError: a wrong pixel count, a NaN pixel, a label out of
                range, an unknown rule, a wrong number of coefficients
                (checked before the first step).
            DivergedError: the weights or signals overflowed at a sample
                (the message names it).
        """
        spec, th, ls = _rule_spec(rule, theta, layers)
        th = _online_theta(spec, th, ls)
        return self._core.learn(_images(images), _labels(labels), spec, th, ls)

    def check(self, images: Any, labels: Any = None) -> None:
        """Checks images (and labels) as :meth:`learn` would, without
        learning; raises ValueError with the library's message."""
        self._core.check(_images(images), None if labels is None else _labels(labels))

    def predict(self, images: Any) -> np.ndarray:
        """The predicted class of each image (int64); weights unchanged."""
        return self._core.predict(_images(images))

    def correct(self, images: Any, labels: Any) -> int:
        """How many images the network classifies as their label."""
        return int(self._core.correct(_images(images), _labels(labels)))

    def accuracy(self, images: Any, labels: Any) -> float:
        """The fraction of images classified as their label."""
        y = _labels(labels)
        if len(y) == 0:
            raise ValueError("accuracy of no images: give at least one")
        return self.correct(images, y) / len(y)

    def weights(self) -> List[np.ndarray]:
        """The forward weights: one float32 array ``W_l`` of shape
        ``(n_l, n_{l-1})`` per layer ``l = 1 .. L`` (copies)."""
        return self._core.weights()

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Replaces the forward weights (one ``(n_l, n_{l-1})`` array per
        layer, finite; converted to float32)."""
        self._core.set_weights([np.ascontiguousarray(w, dtype=np.float32) for w in weights])

    def __repr__(self) -> str:
        return f"Network(widths={self.widths}, feedback={self.feedback!r})"


@dataclasses.dataclass
class OnlineResult:
    """What :func:`online` measured: the accuracy on the test images after
    ``samples[i]`` training samples, and on request the final weights."""

    samples: List[int]
    accuracy: List[float]
    widths: List[int]
    weights: Optional[List[np.ndarray]] = None


def online(
    train_images: Any,
    train_labels: Any,
    test_images: Any,
    test_labels: Any,
    *,
    widths: Optional[Sequence[int]] = None,
    feedback: str = "fa",
    rule: RuleLike = "fa",
    theta: Optional[Sequence[float]] = None,
    layers: Optional[Sequence[Optional[Sequence[int]]]] = None,
    seed: int = 0,
    samples: Optional[int] = None,
    every: int = 500,
    feedback_init: str = "uniform",
    return_weights: bool = False,
) -> OnlineResult:
    """One pass of online learning (batch size one) in random order, with
    the accuracy on the test images every ``every`` samples.

    This is ``metaplasticity online``'s run for one seed and one pathway
    (``cli/src/online.rs``): a generator seeded with ``seed`` draws the
    weights, then the pathway, then the order of the training images
    (Fisher-Yates); accuracy is measured at ``0, every, 2 every, ...``
    and at ``samples``. With the tool's data split (the first ``--test``
    images held out, the others for training) the numbers are the tool's,
    bit for bit::

        images, labels = metaplasticity.datasets.mnist()
        r = metaplasticity.online(images[2000:], labels[2000:], images[:2000], labels[:2000], feedback="fa")
        # == metaplasticity online --seeds 1 --feedback fa  (its 4-decimal CSV)

    Args:
        train_images, train_labels: the training stream (float32 pixels
            ``(N, n_0)``, int labels ``(N,)``).
        test_images, test_labels: the held-out images (at least one).
        widths: the network, default :func:`paper_widths` of the data
            (pixels, 170, 130, 100, 70, largest label + 1).
        feedback: one of :data:`FEEDBACK`.
        rule, theta, layers: the rule (see :meth:`Network.learn`); default
            ``F^0`` with ``theta_0 = 0.01``, as the tool.
        seed: the run's seed (the tool's seeds are ``0 .. --seeds - 1``).
        samples: training samples to present, default all of them.
        every: measure accuracy after every this many samples, and after the last.
        feedback_init: ``uniform`` or ``normal``.
        return_weights: also return the final weights.

    Raises:
        ValueError: bad images or labels (checked before any learning), an
            unknown rule or pathway, bad counts.
        DivergedError: the learning overflowed.
    """
    xtr, ytr = _images(train_images, "train_images"), _labels(train_labels, "train_labels")
    xte, yte = _images(test_images, "test_images"), _labels(test_labels, "test_labels")
    if widths is None:
        top = max([int(y.max()) for y in (ytr, yte) if y.size] or [0])
        widths = paper_widths(xtr.shape[1], top + 1)
    net = Network(widths, feedback, seed=seed, feedback_init=feedback_init)
    spec, th, ls = _rule_spec(rule, theta, layers)
    th = _online_theta(spec, th, ls)
    _core.check_rule(spec, th, ls, net.depth)
    net.check(xtr, ytr)
    net.check(xte, yte)
    n_train, n_test = len(ytr), len(yte)
    if n_test == 0:
        raise ValueError("test_images: at least one test image is needed to measure accuracy")
    samples = n_train if samples is None else int(samples)
    if not 0 <= samples <= n_train:
        raise ValueError(f"samples {samples}: between 0 and the {n_train} training images")
    if int(every) < 1:
        raise ValueError(f"every {every}: must be at least 1")
    order = net.permutation(n_train)
    points = list(range(0, samples + 1, int(every)))
    if points[-1] != samples:
        points.append(samples)
    accuracy: List[float] = []
    seen = 0
    for p in points:
        if p > seen:
            chosen = order[seen:p]
            net._core.learn(xtr[chosen], ytr[chosen], spec, th, ls)
            seen = p
        accuracy.append(net._core.correct(xte, yte) / n_test)
    return OnlineResult(
        samples=points,
        accuracy=accuracy,
        widths=net.widths,
        weights=net.weights() if return_weights else None,
    )


Record = Dict[str, Any]


class MetaTrainer:
    """Meta-learns the coefficients Theta of a plasticity rule, as
    ``metaplasticity meta-train`` does, with the same options under the
    same names (``--train`` is ``train``, ``-M``/``--classes`` is
    ``classes``, ``--lambda`` is ``lambda_``, ...): the same options and
    seed give the same episodes, bit for bit.

    Each episode draws ``M`` classes with ``K`` training and ``Q`` query
    images each, re-initialises the network and its feedback, lets it learn
    the ``M K`` training images online with the rule, and takes an
    optimiser step on Theta along the exact gradient of the query loss.

    Args:
        data: ``"mnist"`` (the shipped 10,000 digits), ``"optdigits"``
            (1,797 8x8 digits), ``"fashion"`` (the Debian package
            ``dataset-fashion-mnist``), or a pair ``(images, labels)`` of
            NumPy arrays. Images are 8-bit pixels: ``uint8`` of shape
            ``(N, pixels)`` or ``(N, rows, cols)``, or floats that are
            exactly ``k / 255`` in float32 (``uint8 / np.float32(255)``, as
            :mod:`metaplasticity.datasets` returns them); others raise
            ValueError, since the library's data sets hold bytes and the
            network reads ``byte / 255``. Labels are classes ``0 .. 255``.
        data_classes: the number of classes of array data (default: the
            largest label plus one).
        widths: the network, default the paper's hidden widths between the
            data's pixels and classes (784-170-130-100-70-10 on MNIST).
        rule: ``"bio"`` (default), ``"fa"``, ``"bp"``, ``"dfa"`` (``F^0``
            through that pathway), ``"ehebb"``, ``"oja"``, ``"pool"``, or
            pool indices such as ``[0, 2, 9]`` (``"0,2,9"``).
        feedback: the pathway, overriding the rule's (one of
            :data:`FEEDBACK`).
        theta: initial Theta, one per term (default ``theta_0 = 1e-3``,
            the others 0).
        layers: per term, the layers it acts on (None: all; not on the
            command line).
        freeze: positions of coefficients to keep fixed.
        classes, train, query: ``M``, ``K``, ``Q`` (default 5, 50, 10).
        sampling: ``"disjoint"`` or ``"reference"``.
        penalty: ``"none"``, ``"l1"`` or ``"l2"``, of strength ``lambda_``.
        lr: the optimiser's learning rate.
        seed: seeds every random draw.
        feedback_init: ``"uniform"`` or ``"normal"``.
        checkpoint_interval: online steps between kept weights.
        reversal: ``"recompute"`` (exact) or ``"invert"``.
        on_divergence: ``"stop"`` (raise DivergedError), ``"skip"`` or
            ``"back-off"`` (default ``stop``, with ``robust`` ``back-off``).
        robust: the robust meta-optimiser (normalised momentum, measured
            step scales, proximal L1, back-off) unless given otherwise.
        step_scale: ``"uniform"``, ``"measured"`` or one positive factor
            per term.
        l1: ``"subgradient"`` or ``"proximal"``.
        optimizer: ``"adam"`` or ``"normalized"``.
        backoff_shrink, backoff_tries, backoff_depth: the back-off.

    Raises:
        ValueError: any option or data the command line would refuse, with
            its message (e.g. images whose pixels are not the network's
            input, ``M`` larger than the data's classes).
    """

    def __init__(
        self,
        data: Union[str, Tuple[Any, Any]] = "mnist",
        *,
        data_classes: Optional[int] = None,
        widths: Optional[Sequence[int]] = None,
        rule: RuleLike = "bio",
        feedback: Optional[str] = None,
        theta: Optional[Sequence[float]] = None,
        layers: Optional[Sequence[Optional[Sequence[int]]]] = None,
        freeze: Sequence[int] = (),
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
        step_scale: Union[None, str, Sequence[float]] = None,
        l1: Optional[str] = None,
        optimizer: Optional[str] = None,
        backoff_shrink: float = 0.5,
        backoff_tries: int = 4,
        backoff_depth: int = 1,
    ):
        images = labels = None
        if isinstance(data, str):
            name = data
        else:
            try:
                images, labels = data
            except (TypeError, ValueError):
                raise ValueError("data must be a name (mnist, optdigits, fashion) or a pair (images, labels)") from None
            name = "arrays"
            images = _pixels(images)
            labels = _labels(labels)
        spec, th, ls = _rule_spec(rule, theta, layers)
        if step_scale is not None and not isinstance(step_scale, str):
            step_scale = ",".join(repr(float(s)) for s in step_scale)
        for what, value in (("classes", classes), ("train", train), ("query", query), ("checkpoint_interval", checkpoint_interval)):
            if int(value) < 1:
                raise ValueError(f"{what} {value}: must be at least 1")
        if widths is not None:
            widths = [int(w) for w in widths]
        self._core = _core.MetaTrainer(
            name,
            images,
            labels,
            data_classes,
            widths,
            spec,
            feedback,
            th,
            ls,
            [int(f) for f in freeze],
            int(classes),
            int(train),
            int(query),
            sampling,
            penalty,
            float(lambda_),
            float(lr),
            int(seed),
            feedback_init,
            int(checkpoint_interval),
            reversal,
            on_divergence,
            bool(robust),
            step_scale,
            l1,
            optimizer,
            float(backoff_shrink),
            int(backoff_tries),
            int(backoff_depth),
        )
        #: Every record so far, in order.
        self.records: List[Record] = []

    def episode(self) -> Record:
        """Runs the next episode and the optimiser's step. Returns its
        record: ``episode``, ``ok`` (False if it diverged and was skipped),
        ``meta_loss``, ``query_loss``, ``accuracy`` (meta-accuracy on the
        query images), ``train_loss``, ``retries`` (back-off), ``theta``
        (Theta used in the episode), ``gradient`` (the meta-gradient) and
        ``angles`` (alignment angles of layers 1 .. L-1, degrees).

        Raises:
            DivergedError: the episode diverged and ``on_divergence`` is
                ``"stop"``.
        """
        record = self._core.episode()
        self.records.append(record)
        return record

    def run(self, episodes: int) -> Iterator[Record]:
        """Runs ``episodes`` episodes, yielding each record as it ends."""
        for _ in range(int(episodes)):
            yield self.episode()

    def __iter__(self) -> Iterator[Record]:
        """Episodes without end (stop the loop yourself)."""
        while True:
            yield self.episode()

    @property
    def episodes(self) -> int:
        """Episodes run so far (the next episode's number)."""
        return self._core.episodes

    @property
    def theta(self) -> List[float]:
        """The current coefficients Theta."""
        return self._core.theta

    @property
    def terms(self) -> List[str]:
        """The names of the rule's terms (``F0``, ``F2``, ...)."""
        return self._core.terms

    @property
    def widths(self) -> List[int]:
        """The widths of the trainer's networks."""
        return self._core.widths

    @property
    def feedback(self) -> str:
        """The pathway's short name."""
        return self._core.feedback

    @property
    def beta(self) -> float:
        """The softplus sharpness the rule is learned for."""
        return self._core.beta

    @property
    def rates(self) -> List[float]:
        """The step-size multiplier of each coefficient (empty: all 1)."""
        return self._core.rates

    def rule_bytes(self) -> bytes:
        """The current rule as a ``.mprl`` rule file's bytes."""
        return self._core.rule_bytes()

    def save_rule(self, path: Union[str, "Path"]) -> None:
        """Writes the current rule as a ``.mprl`` file for the firmware
        (``deploy::encode`` with this trainer's widths, rule and beta, as
        ``meta-train`` writes ``rule.mprl``); read it back with
        :func:`load_rule` or ``metaplasticity rule FILE``."""
        Path(path).write_bytes(self._core.rule_bytes())

    def records_frame(self) -> Any:
        """The records as a pandas DataFrame with the columns of
        ``meta-train``'s ``episodes.csv`` (``episode, ok, meta_loss,
        query_loss, accuracy, train_loss, retries``, then ``theta_<term>``,
        ``grad_<term>`` and ``angle_<l>``). Needs pandas."""
        try:
            import pandas as pd  # type: ignore[import-untyped, unused-ignore]
        except ImportError:
            raise ImportError(
                "records_frame() needs pandas: pip install pandas (or use the list of dicts in .records)"
            ) from None
        return pd.DataFrame(records_table(self.records, self.terms, len(self.widths) - 2))


def records_table(records: Sequence[Record], terms: Sequence[str], hidden: int) -> Dict[str, List[Any]]:
    """The records as columns named as in ``episodes.csv`` (missing values,
    as of a skipped episode, are NaN)."""
    nan = float("nan")
    cols: Dict[str, List[Any]] = {k: [] for k in ("episode", "ok", "meta_loss", "query_loss", "accuracy", "train_loss", "retries")}
    for t in terms:
        cols[f"theta_{t}"] = []
    for t in terms:
        cols[f"grad_{t}"] = []
    for l in range(1, hidden + 1):
        cols[f"angle_{l}"] = []
    for r in records:
        for k in ("episode", "ok", "meta_loss", "query_loss", "accuracy", "train_loss", "retries"):
            cols[k].append(r[k])
        for i, t in enumerate(terms):
            cols[f"theta_{t}"].append(r["theta"][i] if i < len(r["theta"]) else nan)
            cols[f"grad_{t}"].append(r["gradient"][i] if i < len(r["gradient"]) else nan)
        for l in range(hidden):
            cols[f"angle_{l + 1}"].append(r["angles"][l] if l < len(r["angles"]) else nan)
    return cols


def _pixels(images: Any) -> np.ndarray:
    """8-bit pixels of shape (N, pixels) from uint8 or exact k/255 floats."""
    x = np.asarray(images)
    if x.ndim == 3:
        x = x.reshape(x.shape[0], -1)
    if x.ndim != 2:
        raise ValueError(f"images must be an array of shape (N, pixels) or (N, rows, cols), not {x.shape}")
    if x.dtype == np.uint8:
        return np.ascontiguousarray(x)
    if np.issubdtype(x.dtype, np.floating):
        return _core.float_to_pixels(np.ascontiguousarray(x, dtype=np.float32))
    raise ValueError(
        f"images of dtype {x.dtype}: the meta-trainer takes uint8 pixels, or float32 images that are exactly "
        "uint8 / 255"
    )
