"""Reading deploy/Containerfile (never built here: no container engine) and its rules."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

ARG_REFERENCE = re.compile(r"^\$\{?(\w+)\}?$")


@dataclass
class Stage:
    """One `FROM ... [AS name]` stage with the instructions that follow it."""

    base: str
    name: str | None = None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def values(self, keyword: str) -> list[str]:
        return [value for word, value in self.instructions if word == keyword]


@dataclass
class Containerfile:
    args: dict[str, str]
    stages: list[Stage]

    @property
    def final(self) -> Stage:
        return self.stages[-1]

    def base_image(self, stage: Stage) -> str:
        """The stage's base image with a global `ARG` default substituted."""
        reference = ARG_REFERENCE.match(stage.base)
        return self.args.get(reference.group(1), "") if reference else stage.base


def instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, rest) per instruction, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", text)
    found = []
    for line in joined.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, rest = stripped.partition(" ")
            found.append((keyword.upper(), " ".join(rest.split())))
    return found


def parse(text: str) -> Containerfile:
    """The global ARG defaults and the stages of a Containerfile."""
    parsed = Containerfile(args={}, stages=[])
    for keyword, rest in instructions(text):
        if keyword == "FROM":
            base, _, name = rest.partition(" AS ")
            parsed.stages.append(Stage(base=base.strip(), name=name.strip() or None))
        elif keyword == "ARG" and not parsed.stages:
            arg, _, default = rest.partition("=")
            parsed.args[arg] = default
        elif parsed.stages:
            parsed.stages[-1].instructions.append((keyword, rest))
    return parsed


def user_violations(containerfile: Containerfile) -> list[str]:
    """The final stage must switch to a numeric, non-zero uid (runAsNonRoot can verify it)."""
    users = containerfile.final.values("USER")
    if not users:
        return ["the final stage never sets USER, so it runs as root"]
    uid = users[-1].partition(":")[0]
    if not uid.isdigit() or int(uid) == 0:
        return [f"the final stage runs as {users[-1]!r}, not a numeric non-root uid"]
    return []


def base_image_violations(containerfile: Containerfile) -> list[str]:
    """Base images (after ARG defaults) must carry a tag other than `latest`, or a digest."""
    found = []
    for stage in containerfile.stages:
        image = containerfile.base_image(stage)
        if stage.base in {s.name for s in containerfile.stages}:
            continue
        last_part = image.rsplit("/", 1)[-1]
        pinned = "@sha256:" in image or (":" in last_part and not last_part.endswith(":latest"))
        if not pinned:
            found.append(f"base image {image!r} of stage {stage.name} is not pinned")
    return found


def copied_sources(containerfile: Containerfile) -> set[str]:
    """Paths copied from the build context (not from other stages) into any stage."""
    copied: set[str] = set()
    for stage in containerfile.stages:
        for value in stage.values("COPY"):
            parts = value.split()
            if not any(part.startswith("--from=") for part in parts):
                copied.update(part.rstrip("/") for part in parts[:-1] if not part.startswith("--"))
    return copied


PIN = re.compile(r"(?<![\w.-])([A-Za-z0-9][A-Za-z0-9_.-]*)==([0-9][\w.+!-]*)")


def stage_pins(containerfile: Containerfile, stage_name: str) -> dict[str, str]:
    """`name==version` pins in the RUN lines of a stage and of the stages it is built FROM."""
    stages = {stage.name: stage for stage in containerfile.stages}
    pins: dict[str, str] = {}
    stage: Stage | None = stages[stage_name]
    while stage is not None:
        for run in stage.values("RUN"):
            for name, version in PIN.findall(run):
                pins.setdefault(name.lower(), version)
        stage = stages.get(stage.base)
    return pins


def pin_violations(pins: dict[str, str], wanted: dict[str, str], source: str) -> list[str]:
    """One sentence per package of `wanted` (e.g. a version's recorded requirements) that
    the pins leave out or pin to another version."""
    found = []
    for name, version in sorted(wanted.items()):
        pinned = pins.get(name.lower())
        if pinned is None:
            found.append(f"{name}: {source} has {version}, the Containerfile does not pin it")
        elif pinned != version:
            found.append(f"{name}: {source} has {version}, the Containerfile pins {pinned}")
    return found
