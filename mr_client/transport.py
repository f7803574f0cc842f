"""One HTTP exchange with the registry: send, then turn the answer into JSON or an error."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import httpx

from mr_client.errors import NotFound, Refused, RegistryUnavailable

Document = dict[str, Any]
PAGE_SIZE = "100"


class Transport:
    """A keep-alive HTTP connection to one registry, with its bearer token."""

    def __init__(self, base_url: str, token: str = "", timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)
        self.page_size = PAGE_SIZE

    def close(self) -> None:
        self.http.close()

    def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The answer, whatever its status; RegistryUnavailable when there is none."""
        try:
            return self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise RegistryUnavailable.unreachable(self.base_url, exc) from exc

    def document(self, what: str, method: str, path: str, **kwargs: Any) -> Document:
        """The JSON object of a 2xx answer; else the error its status means."""
        found = self.exchange(what, method, path, missing_ok=False, **kwargs)
        if found is None:  # exchange raises NotFound first; this keeps the type honest
            raise NotFound(what, 404, "not found")
        return found

    def optional_document(
        self, what: str, method: str, path: str, **kwargs: Any
    ) -> Document | None:
        """As `document`, but None when the registry answers 404."""
        return self.exchange(what, method, path, missing_ok=True, **kwargs)

    def exchange(
        self, what: str, method: str, path: str, missing_ok: bool, **kwargs: Any
    ) -> Document | None:
        """Send one request and read its answer (the one place errors are raised from)."""
        response = self.send(method, path, **kwargs)
        if missing_ok and response.status_code == 404:
            return None
        return answer_document(response, what, self.base_url)

    def items(
        self, what: str, path: str, params: Mapping[str, str] | None = None
    ) -> Iterator[Document]:
        """Every item of a list endpoint, following nextPageToken."""
        query = {"pageSize": self.page_size, "orderBy": "ID", "sortOrder": "ASC", **(params or {})}
        while True:
            page = self.document(what, "GET", path, params=query)
            items = page.get("items") or []
            yield from items
            token = page.get("nextPageToken")
            if not token or not items:
                return
            query["nextPageToken"] = str(token)


def answer_document(response: httpx.Response, what: str, base_url: str) -> Document:
    """The JSON object of a 2xx answer; NotFound, Refused or RegistryUnavailable otherwise."""
    status = response.status_code
    if status >= 500:
        raise RegistryUnavailable.failed(base_url, what, status, error_message(response))
    if status == 404:
        raise NotFound(what, status, error_message(response))
    if status >= 400:
        raise Refused(what, status, error_message(response))
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise Refused(what, status, "the answer is not a JSON object")
    return body


def error_message(response: httpx.Response) -> str:
    """The registry's `message` of an error answer, else the start of the body."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(body, dict) and "message" in body:
        return str(body["message"])
    return str(body)[:200]
