"""`python -m pipelines.compile`: write the pipeline's Kubeflow Pipelines IR YAML.

The committed `pipelines/mnist_pipeline.yaml` is this command's output with the defaults;
a test fails when it is out of date with the Python source. Upload the YAML to a Kubeflow
Pipelines / Open Data Hub Data Science Pipelines server (see pipelines/README.md).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from kfp import compiler

from pipelines.pipeline import DEFAULT_IMAGE, build_pipeline

COMPILED_PATH = Path(__file__).resolve().parent / "mnist_pipeline.yaml"


def compile_pipeline(output: Path, image: str = DEFAULT_IMAGE) -> Path:
    """Compile the pipeline with every step running in `image`; write the YAML to `output`."""
    output.parent.mkdir(parents=True, exist_ok=True)
    compiler.Compiler().compile(build_pipeline(image), str(output))
    return output


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.compile",
        description="Compile the MNIST pipeline to Kubeflow Pipelines IR YAML.",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=COMPILED_PATH,
        help=f"Where to write the YAML (default {COMPILED_PATH.name} in pipelines/).",
    )
    parser.add_argument(
        "--image",
        default=None,
        help="Container image every step runs in; it must hold this repository installed with "
        f"its training and pipeline extras (env PIPELINE_IMAGE, default {DEFAULT_IMAGE}).",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    image = args.image or os.environ.get("PIPELINE_IMAGE") or DEFAULT_IMAGE
    written = compile_pipeline(args.output, image)
    print(f"Wrote {written} (steps run in {image})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
