"""docs/registry.md lists every customer feature Relevo builds, and no other."""

import re
from pathlib import Path

from relevo.engine.customers.features import FEATURES

DOCS = Path(__file__).parents[2] / "docs" / "registry.md"


def test_the_documented_feature_table_is_the_feature_set() -> None:
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("## Customer features", 1)[1].split("\n## ", 1)[0]
    documented = re.findall(r"^\| `([a-z0-9_]+)` \|", section, flags=re.MULTILINE)
    assert documented == list(FEATURES)
