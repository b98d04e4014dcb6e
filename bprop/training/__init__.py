"""Mini-batch training: the fit loop, History, callbacks, early stopping and checkpoints.

One concept per module, in the order one :func:`fit` uses them:

- :mod:`.data` — validation split, sample and class weights, the validation
  set, batch bounds and the gathering of shuffled batches;
- :mod:`.run` — a run's data, settings and mutable state, built by :func:`~.run.start_run`;
- :mod:`.loop` — :func:`fit` and the epoch/step loop (divergence checks,
  gradient clipping of :mod:`bprop.optim.transforms`, early stopping);
- :mod:`.meter` — the metrics of an epoch, :func:`evaluate`;
- :mod:`.warmup` — loading the compiled loops of a step before epoch 1;
- :mod:`.history` — :class:`History`;
- :mod:`.callbacks` — :class:`Callback`, :class:`EarlyStopping`;
- :mod:`.checkpoints` — the checkpoint file and the optimiser-state packer.

This package never imports :mod:`bprop.network`: ``Sequential.fit``
delegates here, and :func:`bprop.resume` (module :mod:`bprop.resume`) rebuilds
the network from a checkpoint before handing the run to :func:`~.loop.train`.
"""

from .callbacks import Callback, EarlyStopping
from .checkpoints import load_checkpoint, pack_optimizer_state, save_checkpoint, unpack_optimizer_state
from .history import History
from .loop import fit, train
from .meter import evaluate

__all__ = ["fit", "train", "evaluate", "History", "Callback", "EarlyStopping", "save_checkpoint",
           "load_checkpoint", "pack_optimizer_state", "unpack_optimizer_state"]
