"""What can go wrong between the app and the other parts, each said in one sentence.

Every error is an AppError whose message is one sentence a person can act on (what is
wrong and which `make` target fixes it); the pages render them all with one handler
(`app.ui.show_error`), never as a traceback. `status` is the HTTP status that caused it, if
any; `ask_again` says whether asking again may end it (the draw page then asks again 1.5 s
later).
"""

from __future__ import annotations


class AppError(Exception):
    """Something the person can fix; `str(error)` says what and how in one sentence."""

    status: int | None = None
    ask_again = True
    """A part that is down or busy may be back in a moment; a bad drawing stays bad."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status


class RegistryUnavailable(AppError):
    """The model registry does not answer at all (refused, timed out, not HTTP)."""

    def __init__(self, url: str) -> None:
        super().__init__(
            f"The model registry at {url} is not answering; start it with `make registry` "
            "(or the whole demo with `make up`), or point MODEL_REGISTRY_URL at it."
        )


class RegistryRequestFailed(AppError):
    """The registry answered a request with an error status."""

    def __init__(self, what: str, status: int, message: str) -> None:
        super().__init__(
            f"The model registry refused to {what} (HTTP {status}: {message}).", status
        )


class ServingEnvironmentMissing(AppError):
    """The serving environment the app looks in does not exist in the registry yet."""

    status = 404

    def __init__(self, environment: str) -> None:
        super().__init__(
            f"The registry has no serving environment {environment!r} yet; the model "
            "controller creates it when it starts: run `make controller` (or `make up`)."
        )


class NothingDeployed(AppError):
    """No InferenceService is DEPLOYED in the serving environment."""

    def __init__(self, environment: str) -> None:
        super().__init__(
            f"No model is deployed in serving environment {environment!r}; deploy a version "
            "on the Registry page, or run `make demo` to train, register and deploy one."
        )


class EndpointPending(AppError):
    """A DEPLOYED InferenceService the controller has not reported serving (RUNNING) yet."""

    def __init__(self, service: str, observed: str | None) -> None:
        seen = f"last observed {observed}" if observed else "nothing observed yet"
        super().__init__(
            f"{service} is DEPLOYED in the registry but not serving yet ({seen}); the model "
            "controller is still loading it, or is not running (`make controller`)."
        )


class DeploymentFailed(AppError):
    """The controller reported that it could not serve the InferenceService's version."""

    def __init__(self, service: str, reason: str) -> None:
        super().__init__(
            f"The model controller could not serve {service} ({reason or 'no reason given'}); "
            "deploy a working version from the Registry page."
        )


class InferenceUnavailable(AppError):
    """The inference server does not answer at the endpoint the registry gave."""

    def __init__(self, url: str) -> None:
        super().__init__(
            f"The inference server at {url} is not answering; start it with `make serving` "
            "(or the whole demo with `make up`)."
        )


class InferenceFailed(AppError):
    """The inference server answered, but not with the probabilities of a digit."""

    def __init__(self, service: str, detail: str, status: int | None = None) -> None:
        super().__init__(
            f"{service} could not classify the drawing ({detail}); check the inference "
            "server's log with `make logs`.",
            status,
        )


class DrawingUnreadable(AppError):
    """What the canvas reported is not a drawing (only a hand-made message can do that)."""

    ask_again = False

    def __init__(self, detail: str) -> None:
        super().__init__(f"The drawing could not be read ({detail}); press Clear and draw again.")
