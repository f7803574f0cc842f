"""Fixtures for the app's tests: real MNIST test digits, and the real stack for end to end.

The stack fixtures are session-scoped: one registry, inference server and controller, one
training run publishing v1 (dense) and v2 (CNN), one app and one Chromium for every test.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Browser, Page

from stack.seaweed import S3Settings, running_seaweed
from tests.app.app_stack import (
    CHROMIUM,
    PublishedModel,
    RunningStack,
    running_app,
    running_stack,
    set_state_like_the_seed,
    train_and_publish,
    wait_until_ready,
)
from tests.app.draw_page_driver import chromium, new_page
from tests.app.mnist_drawings import MnistTestSet, mnist_dir, read_idx


@pytest.fixture(scope="session")
def mnist_test_set() -> MnistTestSet:
    folder = mnist_dir()
    return MnistTestSet(
        images=read_idx(folder / "t10k-images-idx3-ubyte.gz"),
        labels=read_idx(folder / "t10k-labels-idx1-ubyte.gz"),
    )


@pytest.fixture(scope="session")
def sample_indices(mnist_test_set: MnistTestSet) -> np.ndarray:
    """A fixed random sample of 300 test digits (all classes)."""
    return np.random.default_rng(0).choice(len(mnist_test_set.labels), 300, replace=False)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Settings]:
    """The app tests' own SeaweedFS. Their stack lives the whole session and checks each
    object's sha256 when it loads it; test files of other areas that share a test process
    publish `models/MNIST/v1/...` again into the session's common S3 server."""
    with running_seaweed(tmp_path_factory.mktemp("app-seaweed")) as process:
        yield S3Settings(endpoint=process.url)


@pytest.fixture(scope="session")
def app_stack(
    s3_server: S3Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningStack]:
    """The parts the app talks to, for the whole session (the controller creates `local`)."""
    with running_stack(tmp_path_factory.mktemp("app-stack"), s3_server.as_env()) as stack:
        yield stack


@pytest.fixture(scope="session")
def published_models(
    app_stack: RunningStack, s3_server: S3Settings, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, PublishedModel]:
    """MNIST v1 (dense) and v2 (CNN), trained on the offline data and published."""
    env = {**os.environ, **s3_server.as_env(), "MODEL_REGISTRY_URL": app_stack.registry_url}
    return train_and_publish(tmp_path_factory.mktemp("exports"), env)


@pytest.fixture(scope="session")
def cnn_deployed(app_stack: RunningStack, published_models: dict[str, PublishedModel]) -> str:
    """The CNN deployed as `mnist-e2e` with the seed's POST, once the server has loaded it."""
    set_state_like_the_seed(app_stack.registry_url, "v2", "mnist-e2e", "DEPLOYED")
    wait_until_ready(app_stack.serving_url, "mnist-e2e")
    return "mnist-e2e"


@pytest.fixture
def dense_deployed(
    app_stack: RunningStack, published_models: dict[str, PublishedModel]
) -> Iterator[str]:
    """The dense model deployed as `mnist-v1` for one test, undeployed afterwards."""
    set_state_like_the_seed(app_stack.registry_url, "v1", "mnist-v1", "DEPLOYED")
    wait_until_ready(app_stack.serving_url, "mnist-v1")
    yield "mnist-v1"
    set_state_like_the_seed(app_stack.registry_url, "v1", "mnist-v1", "UNDEPLOYED")
    wait_until_ready(app_stack.serving_url, "mnist-v1", ready=False)


@pytest.fixture(scope="session")
def app_url(app_stack: RunningStack) -> Iterator[str]:
    """The Streamlit app under `streamlit run`, reading the stack's registry."""
    with running_app(app_stack.root, app_stack.registry_url) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium driven by Playwright (`make system-deps` installs it)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make system-deps` (apt-get install chromium)")
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    with new_page(browser) as page:
        yield page


@pytest.fixture
def touch_page(browser: Browser) -> Iterator[Page]:
    """A page on a touchscreen, as on a phone or a tablet."""
    with new_page(browser, has_touch=True) as page:
        yield page
