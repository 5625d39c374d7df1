"""docs/configuration.md's reference names every setting there is, and is itself a configuration
the gateway accepts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import msgspec
import yaml

from infrastructure.settings import Settings, load_settings

DOC = Path(__file__).resolve().parents[3] / "docs" / "configuration.md"


def reference_yaml() -> str:
    text = DOC.read_text()
    section = text[text.index("## Reference") :]
    found = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert found is not None
    return found.group(1)


def missing(struct: type[msgspec.Struct], documented: Any, path: str) -> list[str]:
    """The fields of `struct` (and of the structs within it) that `documented` leaves out."""
    gaps: list[str] = []
    info = msgspec.inspect.type_info(struct)
    assert isinstance(info, msgspec.inspect.StructType)
    for field in info.fields:
        name = field.encode_name  # as the file spells it (`continue`, not `then_continue`)
        where = f"{path}{name}"
        if not isinstance(documented, dict) or name not in documented:
            gaps.append(where)
            continue
        value, kind = documented[name], field.type
        if isinstance(kind, msgspec.inspect.UnionType):  # `X | None`
            kind = next(t for t in kind.types if not isinstance(t, msgspec.inspect.NoneType))
        if isinstance(kind, msgspec.inspect.ListType | msgspec.inspect.VarTupleType):
            kind = kind.item_type
            if isinstance(kind, msgspec.inspect.StructType):
                if not value:
                    gaps.append(f"{where}[0]")
                    continue
                value = value[0]
                where += "[0]"
        if isinstance(kind, msgspec.inspect.StructType) and value is not None:
            gaps += missing(kind.cls, value, f"{where}.")
    return gaps


def test_every_setting_is_in_the_reference() -> None:
    documented = yaml.safe_load(reference_yaml())
    assert missing(Settings, documented, "") == []


def test_the_reference_is_a_configuration_the_gateway_accepts(tmp_path: Path) -> None:
    config = tmp_path / "fluxrouter.yaml"
    config.write_text(reference_yaml())
    settings, path = load_settings(
        str(config),
        environ={
            "OPENAI_API_KEY": "sk-doc",
            "OKTA_CLIENT_SECRET": "doc-secret",
            "ALERTS_WEBHOOK_SECRET": "whsec-doc",
        },
        cwd=tmp_path,
    )
    assert path == str(config)
    assert settings.billing.limits_reload_seconds == 2.0
    assert settings.scim.groups[0].role == "admin"
