"""The settings of a 'bprop train' run, as config.toml holds them.

Shared by the commands that read a run folder ('bprop train --config/--resume',
'bprop evaluate'), so that no command imports another.
"""

from __future__ import annotations

from .options import read_config

#: config key -> default (the resolved config lists them in this order)
DEFAULTS = {
    "data": "digits",
    "n_samples": None,
    "noise": None,
    "target": None,
    "data_dir": None,
    "test_size": 0.2,
    "standardize": None,
    "layers": [128, 64],
    "activation": "relu",
    "init": "auto",
    "batchnorm": False,
    "sync_batchnorm": False,
    "dropout": 0.0,
    "loss": "auto",
    "optimizer": "adam",
    "lr": None,
    "weight_decay": None,
    "schedule": "constant",
    "batch_size": 32,
    "epochs": 20,
    "clip_norm": None,
    "val_split": 0.1,
    "early_stopping": 0,
    "seed": 0,
    "dtype": "float32",
    "backend": None,
}
#: keys a config file may hold besides DEFAULTS
EXTRA_KEYS = {"out", "quiet"}


def read_train_config(path) -> dict:
    """Read a train config file (``--config FILE.toml`` or a run's config.toml): keys of
    :data:`DEFAULTS` and :data:`EXTRA_KEYS` only, else a usage error listing them."""
    return read_config(path, set(DEFAULTS) | EXTRA_KEYS, "train")
