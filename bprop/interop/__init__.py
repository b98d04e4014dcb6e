"""Leaving bprop and coming back: ONNX export, PyTorch both ways, safetensors files.

=================  ==========================================================  ======================
module             public names                                                needs
=================  ==========================================================  ======================
``onnx.py``        ``export`` (``net.to_onnx``, ``est.to_onnx``, ``bprop export``)  ``pip install onnx``
``torch.py``       ``to_torch`` (``net.to_torch``), ``from_torch``              PyTorch
``safetensors.py`` ``save`` (``net.save("m.safetensors")``), ``load``,         ``pip install safetensors``
                   ``load_state_dict_into``, ``torch_names``
=================  ==========================================================  ======================

Each module imports its library inside the functions that need it, so
``import bprop`` still needs NumPy only. They sit above :mod:`bprop.network`
(they read and build ``Sequential`` networks); ``network.py`` reaches them
only through function-local imports in the thin methods that delegate here.
"""
