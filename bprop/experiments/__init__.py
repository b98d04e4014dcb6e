"""The tutorials' claims as measured experiments: initialisation, depth, BatchNorm, optimisers.

Each module runs one experiment with bprop itself and returns plain numbers
(dataclasses of floats and lists); ``bprop experiment NAME`` adds the data,
progress bar, plots, tables and report. Nothing here imports more than NumPy.

* :mod:`.initialization` — seed 003: uniform or normal initialisation "may lead
  to vanishing or exploding gradients", Xavier keeps the variance stable, He
  suits ReLU, a bias of 0.01 keeps ReLUs alive.
* :mod:`.depth` — seed 003: σ' < 1 makes the gradient shrink exponentially with
  depth, large weights make it explode; the measured gradient beside the
  product of the σ' and weight factors that the argument predicts.
* :mod:`.batchnorm` — seed 003: BatchNorm reduces the dependence on the
  initialisation and allows larger learning rates.
* :mod:`.optimizers` — seeds 000 and 004: SGD, Momentum, RMSProp and Adam on
  the same problem and budget, and on Rosenbrock's function.
"""

from .batchnorm import BatchNormCell, batchnorm_experiment
from .depth import DepthResult, depth_experiment
from .initialization import INITS, InitResult, init_experiment
from .optimizers import OPTIMIZERS, OptimizerResult, optimizer_experiment, rosenbrock, rosenbrock_grad

__all__ = ["INITS", "OPTIMIZERS", "BatchNormCell", "DepthResult", "InitResult", "OptimizerResult",
           "batchnorm_experiment", "depth_experiment", "init_experiment", "optimizer_experiment",
           "rosenbrock", "rosenbrock_grad"]
