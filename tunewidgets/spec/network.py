"""The network and its regularization: layers, units, shape, activation, convolutions; penalties, dropout."""

from __future__ import annotations

from dataclasses import dataclass

from .fields import ACTIVATIONS, PENALTIES, knob, setting
from .knobs import Fixed, Knob, Range, choice


@dataclass(frozen=True)
class ModelSpec:
    architecture: str = setting(
        "dense",
        "str",
        options=("dense", "cnn"),
        label="Architecture",
        help="dense: fully connected layers; cnn: convolution blocks for images (digits), then dense layers.",
    )
    layers: Knob = knob(
        Range(1, 3),
        "int",
        lo=0,
        hi=32,
        label="Hidden layers",
        help="Number of hidden dense layers. More layers can learn more complex patterns but also overfit more easily.",
    )
    units: Knob = knob(
        Range(16, 128, 16),
        "int",
        lo=1,
        hi=8192,
        label="Units",
        help="Neurons in each hidden layer (in the first one for a funnel shape).",
    )
    shape: Knob = knob(
        Fixed("constant"),
        "str",
        options=("constant", "funnel", "free"),
        label="Network shape",
        help="constant: every layer has the same width; funnel: each layer has "
        "half the units of the one before; free: every layer's width is tuned on its own.",
    )
    activation: Knob = knob(
        choice("relu", "tanh"),
        "str",
        options=ACTIVATIONS,
        label="Activation",
        help="The non-linearity after each hidden layer. relu is a good default.",
    )
    batch_norm: Knob = knob(
        Fixed(False),
        "bool",
        label="Batch normalization",
        help="Normalize each layer's outputs; often lets you use a larger learning rate.",
    )
    residual: Knob = knob(
        Fixed(False),
        "bool",
        label="Skip connections",
        help="Add each layer's input to its output (residual connections), which helps deeper networks train.",
    )
    conv_blocks: Knob = knob(
        Range(1, 2),
        "int",
        lo=1,
        hi=6,
        active_when=("architecture", ("cnn",)),
        label="Conv blocks",
        help="Convolution blocks before the dense layers; each doubles the filters.",
    )
    filters: Knob = knob(
        choice(16, 32),
        "int",
        lo=1,
        hi=1024,
        active_when=("architecture", ("cnn",)),
        label="Filters",
        help="Filters in the first convolution block.",
    )
    kernel_size: Knob = knob(
        Fixed(3),
        "int",
        lo=1,
        hi=7,
        active_when=("architecture", ("cnn",)),
        label="Kernel size",
        help="Width of the square convolution window, in pixels.",
    )


@dataclass(frozen=True)
class RegularizationSpec:
    penalty: Knob = knob(
        Fixed("none"),
        "str",
        options=PENALTIES,
        label="Weight penalty",
        help="L1 pushes weights to exactly zero, L2 keeps them small; both fight overfitting.",
    )
    strength: Knob = knob(
        Range(1e-5, 1e-2, log=True),
        "float",
        lo=0.0,
        hi=10.0,
        lo_open=True,
        active_when=("penalty", ("l1", "l2", "l1_l2")),
        label="Penalty strength",
        help="How strongly large weights are penalized. Try a log range such as 1e-5 to 1e-2.",
    )
    dropout: Knob = knob(
        Fixed(0.0),
        "float",
        lo=0.0,
        hi=1.0,
        hi_open=True,
        label="Dropout",
        help="Fraction of units switched off at random during training, so the network cannot rely on any single one.",
    )
