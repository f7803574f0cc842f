"""The model card as the Registry page renders it."""

from __future__ import annotations

import pytest

from app.model_card import NO_CARD, card_markdown
from app.settings_page import readiness


def test_card_markdown_drops_publishing_markers_and_keeps_the_rest() -> None:
    readme = ("# Notes by hand\n\n<!-- model-card:begin (written by publishing; edit outside "
              "this block) -->\n## MNIST\n<!-- model-card:end -->\nafter\n")  # fmt: skip
    assert card_markdown(readme) == "# Notes by hand\n\n## MNIST\nafter"


def test_card_markdown_leaves_other_html_to_streamlits_escaping() -> None:
    readme = "<script>window.owned = 1</script>\n<!-- a comment of the author -->"
    assert card_markdown(readme) == readme  # st.markdown without unsafe_allow_html escapes it


@pytest.mark.parametrize("readme", [None, "", "  \n", 42])
def test_card_markdown_without_a_readme_says_how_to_get_one(readme: object) -> None:
    assert card_markdown(readme) == NO_CARD


@pytest.mark.parametrize(
    ("wanted", "ready", "words"),
    [
        (True, True, "ready"),
        (True, False, "not ready yet"),
        (True, None, "not answering"),
        (False, False, "not loaded, as desired"),
        (False, True, "still loaded (unloading)"),
        (False, None, "nothing to serve"),
    ],  # fmt: skip
)
def test_readiness_reads_the_answer_against_the_desired_state(
    wanted: bool, ready: bool | None, words: str
) -> None:
    assert words in readiness(wanted, ready)
    assert (":red[" in readiness(wanted, ready)) == (wanted and ready is None)
