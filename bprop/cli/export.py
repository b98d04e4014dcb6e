"""Export a trained model for deployment: an ONNX file, or a safetensors file for PyTorch.

RUN_OR_MODEL is a run folder made by 'bprop train' or a model file (.npz
or .safetensors; also a BPClassifier/BPRegressor saved with its save
method). --format onnx writes an ONNX model that takes the raw features:
the Standardizer saved with the model is folded in, (x − mean)/std. A
classifier gives the outputs 'logits', 'probabilities' and 'label' (the
class, as a number where the class names are numbers); a regression model
gives 'output'. The batch dimension is dynamic. --format safetensors
writes the weights under PyTorch's state_dict names, with the architecture
in the file's metadata (bp.load reads it back; torch's load_state_dict
takes it with strict=True). The file goes to -o FILE, by default beside
the model (RUN/model.onnx); an existing file is replaced only with --force.
"""

from __future__ import annotations

import os
import sys

from .options import UsageError, add_parser
from .runfolder import check_output

EXAMPLES = """\
  bprop export runs/moons --format onnx                      # runs/moons/model.onnx
  bprop export runs/moons/model.npz --format onnx -o moons.onnx --opset 17
  bprop export runs/moons --format safetensors -o moons.safetensors
"""

#: format -> file extension
FORMATS = {"onnx": ".onnx", "safetensors": ".safetensors"}


def register(subparsers) -> None:
    p = add_parser(subparsers, "export", __doc__, EXAMPLES)
    p.add_argument("model", metavar="RUN_OR_MODEL", help="a run folder or a model file, e.g. runs/moons")
    p.add_argument("--format", choices=tuple(FORMATS), default="onnx", help="onnx (default) or safetensors, "
                   "e.g. --format onnx")
    p.add_argument("-o", "--output", metavar="FILE", help="where to write (default: beside the model, e.g. "
                   "runs/moons/model.onnx), e.g. -o moons.onnx")
    p.add_argument("--opset", type=int, default=20, metavar="N", help="ONNX opset, from 13 to the newest the "
                   "installed onnx knows (default 20), e.g. --opset 17")
    p.add_argument("--force", action="store_true", help="replace FILE if it exists (never a file of a run folder "
                   "such as model.npz)")
    p.set_defaults(func=run)


def run(args) -> int:
    import bprop as bp
    from .common import model_file

    path, _ = model_file(args.model)
    ext = FORMATS[args.format]
    output = args.output or os.path.splitext(path)[0] + ext
    check_output(output, [path], args.force, example=f"model{ext}")
    if args.format == "onnx":
        from ..interop.onnx import check_opset
        try:
            check_opset(args.opset)
        except (TypeError, ValueError) as exc:
            raise UsageError(f"--opset: {exc}") from None
    net = bp.load(path)
    if args.format == "onnx":
        from ..sklearn import ESTIMATOR_KEY, load as load_estimator
        if isinstance(net.metadata.get(ESTIMATOR_KEY), dict):      # a saved BPClassifier/BPRegressor:
            load_estimator(path).to_onnx(output, opset=args.opset)  # its classes and label rule
        else:
            net.to_onnx(output, opset=args.opset)
    else:
        net.save(output)
    print(f"wrote {output} ({args.format}{f', opset {args.opset}' if args.format == 'onnx' else ''})",
          file=sys.stderr)
    return 0
