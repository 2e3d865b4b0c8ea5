"""The optimizer and the training loop: learning rate and its schedule, batch size, epochs, early stopping."""

from __future__ import annotations

from dataclasses import dataclass

from .fields import OPTIMIZERS, SCHEDULES, knob, setting
from .knobs import Fixed, Knob, Range, choice


@dataclass(frozen=True)
class OptimizerSpec:
    name: Knob = knob(
        Fixed("adam"),
        "str",
        options=OPTIMIZERS,
        label="Optimizer",
        help="The rule that updates the weights. Adam is a robust default; SGD with momentum is the classic.",
    )
    learning_rate: Knob = knob(
        Range(1e-4, 1e-2, log=True),
        "float",
        lo=0.0,
        hi=10.0,
        lo_open=True,
        label="Learning rate",
        help="Step size of each update. Too large diverges, too small crawls: search it on a log scale.",
    )
    momentum: Knob = knob(
        Fixed(0.9),
        "float",
        lo=0.0,
        hi=1.0,
        hi_open=True,
        active_when=("name", ("sgd",)),
        label="Momentum",
        help="SGD only: how much of the previous step is kept, which smooths and speeds up descent.",
    )
    nesterov: Knob = knob(
        Fixed(False),
        "bool",
        active_when=("name", ("sgd",)),
        label="Nesterov",
        help="SGD only: look ahead along the momentum before computing the gradient.",
    )
    weight_decay: Knob = knob(
        Fixed(1e-4),
        "float",
        lo=0.0,
        hi=1.0,
        active_when=("name", ("adamw",)),
        label="Weight decay",
        help="AdamW only: shrink the weights a little at every step.",
    )
    schedule: Knob = knob(
        Fixed("constant"),
        "str",
        options=SCHEDULES,
        label="Learning-rate schedule",
        help="constant, or decay the learning rate as training goes on: "
        "exponential (every epoch), step (every few epochs) or cosine (smoothly to zero).",
    )
    decay_rate: Knob = knob(
        Fixed(0.9),
        "float",
        lo=0.0,
        hi=1.0,
        lo_open=True,
        active_when=("schedule", ("exponential", "step")),
        label="Decay rate",
        help="Factor the learning rate is multiplied by at each decay.",
    )
    decay_epochs: Knob = knob(
        Fixed(5),
        "int",
        lo=1,
        hi=10_000,
        active_when=("schedule", ("step",)),
        label="Decay every (epochs)",
        help="Step schedule: epochs between two decays.",
    )


@dataclass(frozen=True)
class TrainingSpec:
    batch_size: Knob = knob(
        choice(32, 64),
        "int",
        lo=1,
        hi=65_536,
        label="Batch size",
        help="Examples per weight update. Small batches are noisy but can generalize better.",
    )
    epochs: int = setting(
        10,
        "int",
        lo=1,
        hi=10_000,
        label="Epochs",
        help="Passes over the training data in each trial.",
    )
    early_stopping: bool = setting(
        False,
        "bool",
        label="Early stopping",
        help="Stop a trial when the objective has not improved for a few epochs.",
    )
    patience: int = setting(
        3,
        "int",
        lo=1,
        hi=10_000,
        active_when=("early_stopping", (True,)),
        label="Patience",
        help="Epochs without improvement before early stopping ends the trial.",
    )
    max_parameters: int | None = setting(
        None,
        "int",
        lo=1,
        hi=10**12,
        nullable=True,
        label="Largest model (weights)",
        help="The size limit: a search whose largest model has more weights than this is refused before "
        "it trains, so it cannot fill the memory or the disk. Empty: a limit sized for this machine's memory "
        "(about 33 million weights on a 2 GB Binder).",
    )
