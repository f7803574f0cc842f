"""The Kubeflow Pipelines v2 pipeline: train → validate → if passed: publish, else: say why.

`build_pipeline(image)` turns the functions in `pipelines.components` into lightweight
components that run in `image` and wires them into the pipeline. The image must contain this
repository installed with its `training` and `pipeline` extras (see pipelines/Containerfile);
locally `kfp.local.SubprocessRunner(use_venv=False)` ignores it and runs each step in a
subprocess of the repository's virtualenv. KFP itself comes from the image
(`install_kfp_package=False`), so a step installs nothing at run time.

On a cluster the publish step reads the S3 credentials (and, when the `s3_endpoint` /
`s3_bucket` parameters are empty, the endpoint and bucket) from the Open Data Hub data
connection secret named by the `data_connection` parameter, mounted as the `AWS_*`
environment variables. No credential is ever a parameter or part of the compiled YAML.

No `from __future__ import annotations` here: KFP reads the pipeline's annotations as types.
"""

from collections.abc import Callable
from typing import Any

from kfp import dsl, kubernetes
from kfp.dsl.graph_component import GraphComponent
from kfp.dsl.python_component import PythonComponent

from pipelines import components
from pipelines.params import DEFAULT_DATA_CONNECTION, PIPELINE_NAME, PipelineParams

PIPELINE_DESCRIPTION = (
    "Train a dense or CNN MNIST model, export it to ONNX, validate its test accuracy, and if it "
    "passes upload it to S3 and register it as a new version in the Model Registry."
)
DEFAULT_IMAGE = "quay.io/mnist-e2e-demo/pipeline:0.1.0"
DATA_CONNECTION_KEYS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
    "AWS_S3_ENDPOINT",
    "AWS_S3_BUCKET",
)
STEP_NAMES = ("train", "validate", "publish", "not-registered")
DEFAULTS = PipelineParams()


def lightweight(function: Callable[..., Any], image: str) -> PythonComponent:
    """`function` as a lightweight component running in `image`, installing nothing."""
    return dsl.component(function, base_image=image, install_kfp_package=False)


def build_pipeline(image: str = DEFAULT_IMAGE) -> GraphComponent:
    """The pipeline, with every step running in `image` on a cluster."""
    train = lightweight(components.train, image)
    validate = lightweight(components.validate, image)
    publish = lightweight(components.publish, image)
    not_registered = lightweight(components.not_registered, image)

    @dsl.pipeline(name=PIPELINE_NAME, description=PIPELINE_DESCRIPTION)
    def mnist_pipeline(
        kind: str = DEFAULTS.kind,
        epochs: int = DEFAULTS.epochs,
        learning_rate: float = DEFAULTS.learning_rate,
        min_accuracy: float = DEFAULTS.min_accuracy,
        model_name: str = DEFAULTS.model_name,
        registry_url: str = DEFAULTS.registry_url,
        s3_endpoint: str = DEFAULTS.s3_endpoint,
        s3_bucket: str = DEFAULTS.s3_bucket,
        data_connection: str = DEFAULT_DATA_CONNECTION,
    ) -> str:
        trained = train(kind=kind, epochs=epochs, learning_rate=learning_rate)
        checked = validate(model=trained.outputs["model"], min_accuracy=min_accuracy)
        with dsl.If(checked.outputs["passed"] == True, "validated"):  # noqa: E712
            published = publish(
                model=trained.outputs["model"],
                accuracy=checked.outputs["accuracy"],
                min_accuracy=min_accuracy,
                model_name=model_name,
                registry_url=registry_url,
                s3_endpoint=s3_endpoint,
                s3_bucket=s3_bucket,
                pipeline_run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER,
                pipeline_run_name=dsl.PIPELINE_JOB_NAME_PLACEHOLDER,
            )
            published.set_caching_options(False)
            kubernetes.use_secret_as_env(
                published,
                secret_name=data_connection,
                secret_key_to_env={key: key for key in DATA_CONNECTION_KEYS},
            )
        with dsl.Else("not-validated"):
            explained = not_registered(model_name=model_name, reason=checked.outputs["reason"])
            explained.set_caching_options(False)
        return dsl.OneOf(published.outputs["summary"], explained.output)

    return mnist_pipeline
