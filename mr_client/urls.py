"""Every Model Registry URL path this repository calls, built in this one module.

Reads and the controller's writes use the upstream spec's prefix (`v1alpha3`); creating an
InferenceService and flipping its desired state send exactly the seed's curl requests
(`v1alpha1`, where an InferenceService's `state` is its desired state). Ids and names become
path segments only escaped.
"""

from __future__ import annotations

from urllib.parse import quote

API = "/api/model_registry/v1alpha3"
SEED_API = "/api/model_registry/v1alpha1"
HEALTH = "/readyz/health"


def api_path(*segments: str, prefix: str = API) -> str:
    """`prefix/segment/...` with every segment escaped (`/` included)."""
    return "/".join([prefix, *(quote(str(segment), safe="") for segment in segments)])


def seed_path(*segments: str) -> str:
    """The same path under the seed's `v1alpha1` prefix."""
    return api_path(*segments, prefix=SEED_API)
