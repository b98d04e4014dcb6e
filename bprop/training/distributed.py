r"""Data-parallel training over MPI: N processes that together take the steps of one.

Every rank holds the same network, the same optimiser and the same data
(typically a memory map of one file). The fit loop runs on every rank; what
changes is one step (:meth:`DataParallel.part` and :meth:`DataParallel.allreduce`):

1. The global batch ``B`` (rows ``perm[s:e]`` of the epoch's permutation, the
   same on every rank because every rank's generator is rank 0's) is cut into
   ``N`` contiguous parts; rank ``r`` takes rows ``B[a_r:b_r]`` with
   :math:`a_r = \lfloor r m / N\rfloor`, :math:`m = |B|`.
2. Rank ``r`` runs backpropagation on its part with the loss gradient scaled
   to the *global* batch: for the batch mean :math:`C = \frac1m\sum_{x∈B} C_x`,

   .. math::
       \frac{∂C}{∂θ} = \sum_r \frac{m_r}{m}\,\frac{∂C_r}{∂θ}, \qquad
       C = \sum_r \frac{m_r}{m}\,C_r,

   where :math:`C_r` is the mean over the part's :math:`m_r` rows; with sample
   weights the share is :math:`W_r/W` (:math:`W_r = \sum_{x∈B_r} w_x`,
   :math:`W = \sum_{x∈B} w_x`), so that :math:`C = \sum_x w_x C_x / W`. The
   share multiplies ``∂C_r/∂out`` *before* the backward pass
   (``net._backprop(..., scale=share)``), so every layer sees the gradient of
   the global loss — which is what lets a synchronised BatchNorm sum its
   backward terms over ranks.
3. One ``Allreduce`` (sum) over a single flat, preallocated buffer holding
   every gradient and ``C`` gives every rank the gradient of the global batch.
   Clipping, the divergence check and the optimiser step then run on identical
   numbers on every rank, so the parameters stay identical; a CRC-32 of the
   parameters is compared once per epoch (:meth:`DataParallel.check_in_sync`).

Other collectives of a step, only where they are needed: a synchronised
BatchNorm layer all-reduces its row count and two ``(d,)`` sums in the
forward pass, its row count and one ``(2, d)`` sum in the backward pass; with callbacks the
ranks agree on a stop with one flag per step (:meth:`DataParallel.any`).

The result equals the single-process run up to the order of floating-point
sums (≈1e-16 relative per step in float64). BatchNorm keeps per-rank batch
statistics unless built with ``sync=True`` (Horovod's and torch DDP's
default); Dropout draws the global batch's mask on every rank and uses its
part's rows, so masks and generators agree with the single-process run.

Faults. An error every rank meets at once (a :class:`~bprop.DivergenceError`
— the numbers it is decided on are all-reduced, so identical —, a
:class:`~bprop.DistributedError`, a bad argument while the run is set up) is
raised on every rank, as in one process. An error on some ranks only would
leave the others waiting in a collective forever, so :meth:`DataParallel.agree`
turns it into a :class:`~bprop.DistributedError` on the other ranks while the
run is set up, and :meth:`DataParallel.guard` turns it into ``MPI_Abort`` once
it trains (Ctrl-C included: ``mpiexec`` sends SIGINT to every rank). A rank
that dies is ``mpiexec``'s to notice: MPICH's ends every other rank at once.

mpi4py is imported by the caller that makes the communicator, never here:
``comm`` is any object with mpi4py's ``Get_rank``, ``Get_size``,
``Allreduce``, ``Bcast``, ``allgather`` and ``bcast``.
"""

from __future__ import annotations

import sys
import time
import zlib
from contextlib import contextmanager

import numpy as np

from ..errors import DistributedError, DivergenceError
from .data import batch_total


def _in_place():
    from mpi4py import MPI    # only reached with a communicator, so mpi4py is installed
    return MPI.IN_PLACE



#: Seconds an aborting rank waits after printing its error line: mpiexec forwards each rank's stderr
#: through its proxy, and MPI_Abort tears the proxies down at once, so an unforwarded line is lost.
ABORT_GRACE_S = 0.3


def abort(comm, code: int) -> None:
    """``comm.Abort(code)``, once this rank's error line (already printed and flushed) has left."""
    time.sleep(ABORT_GRACE_S)
    comm.Abort(code)

class DataParallel:
    """The ranks of one data-parallel run, and the collective operations the fit loop uses.

    Parameters
    ----------
    comm : mpi4py communicator
        E.g. ``MPI.COMM_WORLD``; every rank of it calls ``fit`` with the same arguments.
    """

    def __init__(self, comm):
        for name in ("Get_rank", "Get_size", "Allreduce", "Bcast", "allgather"):
            if not hasattr(comm, name):
                raise TypeError(f"comm must be an mpi4py communicator (e.g. MPI.COMM_WORLD), got {comm!r}")
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        self._flat = None

    @property
    def is_root(self) -> bool:
        """Rank 0 alone prints, writes checkpoints and runs folders' files."""
        return self.rank == 0

    # ---------------------------------------------------------------- start
    def broadcast_network(self, net) -> None:
        """Give every rank rank 0's parameters, buffers and generator state (Horovod's broadcast)."""
        for arrays in (net.params, net.buffers):
            for key in sorted(arrays):
                self.comm.Bcast(arrays[key], root=0)
        net.rng.bit_generator.state = self.comm.bcast(net.rng.bit_generator.state, root=0)

    def agree(self, build, what: str):
        """``build()`` on every rank; if it raised on any, raise on all (its own error where it failed)."""
        error = None
        try:
            result = build()
        except Exception as exc:      # noqa: BLE001 - every error is passed on, to every rank
            error = exc
        failed = self.comm.allgather(None if error is None else f"{type(error).__name__}: {error}")
        if error is not None:
            raise error
        bad = [(r, msg) for r, msg in enumerate(failed) if msg is not None]
        if bad:
            r, msg = bad[0]
            raise DistributedError(f"rank {r} could not {what}: {msg}")
        return result

    def check_same_data(self, n_train: int, n_features: int, n_val: int, settings) -> None:
        """Every rank must train on data of the same shape with the same settings."""
        mine = (n_train, n_features, n_val, repr(settings))
        every = self.comm.allgather(mine)
        bad = [r for r, theirs in enumerate(every) if theirs != every[0]]
        if bad:
            raise DistributedError(
                f"rank(s) {bad} were given other data or settings than rank 0 ({every[bad[0]][:3]} against "
                f"{every[0][:3]} training rows, features, validation rows): every rank must call fit "
                "with the same arguments and the same data (e.g. a memory map of the same file).")

    @contextmanager
    def guard(self):
        """Abort every rank when an error that is not collective escapes training on one rank."""
        try:
            yield
        except (DivergenceError, DistributedError):
            raise                     # met by every rank at the same step
        except BaseException as exc:  # noqa: BLE001 - one rank stopping would hang the others
            code = 130 if isinstance(exc, KeyboardInterrupt) else 1
            print(f"error: rank {self.rank} of {self.size} stopped ({type(exc).__name__}: {exc}); "
                  "aborting every rank, as a data-parallel run cannot go on without it", file=sys.stderr,
                  flush=True)
            abort(self.comm, code)
            raise

    # ---------------------------------------------------------------- one step
    def part(self, start: int, end: int) -> tuple[int, int]:
        """This rank's contiguous rows ``(a, b)`` of the global batch ``start:end``."""
        m = end - start
        return start + self.rank * m // self.size, start + (self.rank + 1) * m // self.size

    def share(self, start: int, end: int, a: int, b: int, weights, perm) -> float:
        r"""The part's share of the global batch: :math:`m_r/m`, or :math:`W_r/W` with sample weights."""
        total = batch_total(weights, start, end, perm)
        return batch_total(weights, a, b, perm) / total if total > 0 else 0.0

    def allreduce(self, grads: dict, c: float) -> float:
        """Sum ``grads`` (in place) and the loss ``c`` over the ranks with one ``Allreduce``; returns ``C``."""
        keys = sorted(grads)
        if self._flat is None:
            dtype = grads[keys[0]].dtype
            n = sum(grads[k].size for k in keys)
            self._flat = np.empty(n + 1, dtype=dtype)   # every gradient, then C
            self._views, off = {}, 0
            for k in keys:
                self._views[k] = self._flat[off:off + grads[k].size].reshape(grads[k].shape)
                off += grads[k].size
        for k in keys:
            self._views[k][...] = grads[k]
        self._flat[-1] = c
        self.comm.Allreduce(_in_place(), self._flat)
        for k in keys:
            grads[k][...] = self._views[k]
        return float(self._flat[-1])

    def any(self, flag: bool) -> bool:
        """True on every rank if ``flag`` is true on any (a callback's stop, one rank's error)."""
        return any(self.comm.allgather(bool(flag)))

    def sum(self, values) -> np.ndarray:
        """The element-wise sum over the ranks of a float64 vector."""
        buf = np.array(values, dtype=np.float64)
        self.comm.Allreduce(_in_place(), buf)
        return buf

    def gather_rows(self, local: np.ndarray) -> np.ndarray:
        """The rows of every rank's ``local``, in rank order (eval-mode outputs of a validation set)."""
        return np.concatenate(self.comm.allgather(local))

    # ---------------------------------------------------------------- every epoch
    def check_in_sync(self, net, epoch: int) -> None:
        """Compare a CRC-32 of the parameters over the ranks; raise :class:`DistributedError` if they differ."""
        crc = 0
        for key in sorted(net.params):
            crc = zlib.crc32(np.ascontiguousarray(net.params[key]).view(np.uint8), crc)
        crcs = self.comm.allgather(crc)
        if len(set(crcs)) > 1:
            bad = [r for r, c in enumerate(crcs) if c != crcs[0]]
            raise DistributedError(
                f"after epoch {epoch} the parameters of rank(s) {bad} differ from rank 0's: the ranks "
                "no longer train the same network. Every rank must call fit with the same network, "
                "data and arguments (and the same bprop and NumPy versions).")
