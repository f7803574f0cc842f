"""The model card as the Registry page shows it: the RegisteredModel's `readme`, Markdown only.

Publishing writes a generated block between two HTML comment markers (training.model_card);
the page drops those marker lines (Streamlit would print them as text) and renders the rest
with `st.markdown` without `unsafe_allow_html`, so HTML in a readme is shown as text and no
script in it runs.
"""

from __future__ import annotations

import re

MARKER = re.compile(r"^\s*<!--\s*model-card:(begin|end)\b.*-->\s*$")
NO_CARD = (
    "No model card yet: publishing writes one (the RegisteredModel's `readme`), or write "
    "one yourself through the REST API (PATCH `readme`)."
)


def card_markdown(readme: object) -> str:
    """The readme without publishing's marker lines; a sentence when there is no readme."""
    if not isinstance(readme, str) or not readme.strip():
        return NO_CARD
    return "\n".join(line for line in readme.splitlines() if not MARKER.match(line)).strip()
