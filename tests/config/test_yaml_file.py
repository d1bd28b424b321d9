"""Config files are read strictly: a key given twice anywhere is an error naming the key and
its lines, an empty file is an error (no file at all still means the defaults)."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from agentic_jax.config import RunConfig, load
from agentic_jax.config.yaml_file import DuplicateKeyError, parse_yaml


@pytest.mark.parametrize(
    "text, key, line, first",
    [
        # the case: a second ppo: section replaced the first (n_envs 64 -> 4)
        ("ppo:\n  n_envs: 64\nsystem:\n  seed: 1\nppo:\n  n_envs: 4\n", "'ppo'", 5, 1),
        ("ppo:\n  n_envs: 64\n  n_steps: 8\n  n_envs: 4\n", "'n_envs'", 4, 2),
        ("ppo:\n  net_arch:\n    pi: [8]\n    pi: [16]\n", "'pi'", 4, 3),
        ("ppo:\n  net_arch: {pi: [8], vf: [8], pi: [4]}\n", "'pi'", 2, 2),
        ("sweep:\n  grid:\n    ppo.gamma: [0.9]\n    ppo.gamma: [0.99]\n", "'ppo.gamma'", 4, 3),
    ],
)
def test_a_duplicated_key_is_an_error_naming_it_and_its_lines(tmp_path, text, key, line, first):
    path = tmp_path / "dup.yaml"
    path.write_text(text)
    with pytest.raises(ValueError) as info:
        load(path)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}: duplicate key {key} (first on line {first})")
    assert "\n" not in message


def test_an_empty_file_is_an_error_and_no_file_means_the_defaults(tmp_path):
    for text in ("", "\n", "# only a comment\n"):
        path = tmp_path / "empty.yaml"
        path.write_text(text)
        with pytest.raises(ValueError, match="is empty .* omit --config to use the defaults"):
            load(path)
    assert load() == RunConfig()


def test_a_duplicated_key_in_an_override_value_is_named():
    with pytest.raises(ValueError, match="duplicate key 'pi'"):
        load(None, ["ppo.net_arch={pi: [8], pi: [16]}"])


def test_merge_keys_still_override_what_they_merge():
    text = "base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  y: 3\n"
    assert parse_yaml(text)["use"] == {"x": 1, "y": 3}


keys = st.text("abcdefgh_", min_size=1, max_size=6)
scalars = st.integers(-5, 5) | st.booleans() | st.text("xyz", max_size=3)
documents = st.recursive(scalars, lambda inner: st.dictionaries(keys, inner, min_size=1,
                                                                 max_size=4), max_leaves=12)


@settings(max_examples=60, deadline=None)
@given(doc=st.dictionaries(keys, documents, min_size=1, max_size=4), value=scalars,
       pick=st.integers(0, 3))
def test_strict_reading_equals_pyyaml_without_duplicates_and_refuses_any_repeat(doc, value,
                                                                                pick):
    text = yaml.safe_dump(doc, sort_keys=False)
    assert parse_yaml(text) == yaml.safe_load(text)
    key = list(doc)[pick % len(doc)]
    repeated = text + yaml.safe_dump({key: value})
    with pytest.raises(DuplicateKeyError) as info:
        parse_yaml(repeated)
    assert info.value.problem.startswith(f"duplicate key {key!r}")
    assert info.value.problem_mark.line == len(text.splitlines())  # the repeat's line
