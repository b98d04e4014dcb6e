"""Layers with parameters or state: Dense, BatchNorm, Dropout (activations live in :mod:`bprop.activations`)."""

from .base import Layer
from .batchnorm import BatchNorm
from .dense import Dense
from .dropout import Dropout

__all__ = ["Layer", "Dense", "BatchNorm", "Dropout"]
