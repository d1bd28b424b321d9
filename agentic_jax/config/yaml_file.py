"""Reading YAML strictly: every config file and `--set` value goes through `StrictLoader`.

PyYAML's `safe_load` keeps the last of two equal keys in a mapping, so a second `ppo:` section
silently replaced the first. `StrictLoader` refuses a duplicated key anywhere (a section, a
key of a section, a key of a nested mapping such as `net_arch`) with the key and both lines;
YAML merge keys (`<<: *base`) still override what they merge, as YAML means them to.

Settings files (`read_settings`) hold a `settings:` list of env sections, each applied to a
config as `load` overrides (`setting_overrides`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

_MERGE_TAG = "tag:yaml.org,2002:merge"


class DuplicateKeyError(yaml.MarkedYAMLError):
    """A mapping holds the same key twice; `problem_mark` is the second one."""


class StrictLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` that raises `DuplicateKeyError` for a key given twice in a mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        if isinstance(node, yaml.MappingNode):
            first: dict[Any, yaml.Node] = {}
            for key_node, _ in node.value:
                if key_node.tag == _MERGE_TAG:
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    seen = first.setdefault(key, key_node)
                except TypeError:  # an unhashable key: SafeLoader's own error follows
                    continue
                if seen is not key_node:
                    raise DuplicateKeyError(
                        problem=f"duplicate key {key!r} (first on line "
                                f"{seen.start_mark.line + 1})",
                        problem_mark=key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


def parse_yaml(text: str) -> Any:
    """`text` parsed by `StrictLoader` (`yaml.YAMLError` if it is not valid YAML)."""
    return yaml.load(text, Loader=StrictLoader)  # noqa: S506 - a SafeLoader subclass


def read_yaml(path: str | Path) -> Any:
    """The parsed YAML document at `path` (`FileNotFoundError`/`ValueError` naming it and, for
    a syntax error or a duplicated key, its line)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"config file {str(path)!r} does not exist")
    if not path.is_file():
        raise ValueError(f"config file {str(path)!r} is a directory, not a file")
    try:
        return parse_yaml(path.read_text())
    except DuplicateKeyError as err:
        raise ValueError(f"{path}:{err.problem_mark.line + 1}: {err.problem}; each key may "
                         "appear once in a mapping (remove or merge the repeated one)") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = "" if mark is None else f":{mark.line + 1}:{mark.column + 1}"
        problem = " ".join(filter(None, (getattr(err, "context", None),
                                         getattr(err, "problem", None))))
        problem = problem or " ".join(str(err).split())
        raise ValueError(f"{path}{where}: not valid YAML ({problem})") from None
    except UnicodeDecodeError:
        raise ValueError(f"config file {str(path)!r} is not UTF-8 text") from None


def read_settings(path: str | Path) -> list[dict[str, Any]]:
    """The `settings:` list of a settings file (configs/heldout.yaml, configs/validation.yaml:
    env sections drawn from `agentic_jax.env.family.SettingsFamily`); `FileNotFoundError` or
    `ValueError` naming the file if it cannot be read or has no such list."""
    document = read_yaml(path)
    settings = document.get("settings") if isinstance(document, dict) else None
    if not isinstance(settings, list) or not all(isinstance(s, dict) for s in settings):
        raise ValueError(f"{path}: no `settings:` list of env sections (a settings file such "
                         "as configs/heldout.yaml)")
    return settings


def setting_overrides(setting: dict[str, Any]) -> list[str]:
    """The `load` overrides that replace a config's env: values with a setting's (its other
    env: values stay)."""
    return [f"env.{key}={json.dumps(value)}" for key, value in setting.items()]
