"""The contracts the parts rely on, as code: the one shape of a setting and the defaults every
part agrees on (where the registry, the inference server, S3 and the OCI registry are), and
how an OCI registry is reached (`oci`).

DESIGN.md lets parts share a protocol client or nothing. This package is the wire contract
itself (the table "Contracts other parts rely on"), not a part: it imports nothing but the
standard library and no part, so every part, `registry_local` included, may import it
without knowing any other part.
"""
