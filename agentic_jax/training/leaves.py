"""A runner state as flat host arrays plus a description with a checksum, and back.

What a checkpoint stores: the leaves as `{"leaf_00000": array, ...}` (typed PRNG keys as their
`jax.random.key_data`) and their paths, shapes, dtypes and SHA-256, so that loading into a
state of another shape names the arrays that differ.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import jax
import numpy as np


class CheckpointMismatchError(ValueError):
    """A checkpoint that does not fit the config it is loaded into."""


def _is_key(x: Any) -> bool:
    return hasattr(x, "dtype") and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)


def flatten_state(state: Any) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Leaves as host numpy arrays plus the description stored in the metadata."""
    path_leaves, _ = jax.tree_util.tree_flatten_with_path(state)
    arrays, paths, key_leaves, key_impl = {}, [], [], None
    for i, (path, leaf) in enumerate(path_leaves):
        if _is_key(leaf):
            key_leaves.append(i)
            key_impl = str(jax.random.key_impl(leaf))
            leaf = jax.random.key_data(leaf)
        arrays[f"leaf_{i:05d}"] = np.asarray(jax.device_get(leaf))
        paths.append(jax.tree_util.keystr(path))
    info = {
        "paths": paths,
        "shapes": [list(a.shape) for a in arrays.values()],
        "dtypes": [str(a.dtype) for a in arrays.values()],
        "key_leaves": key_leaves,
        "key_impl": key_impl,
        "checksum": checksum(arrays),
    }
    return arrays, info


def checksum(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 over the arrays' names, dtypes, shapes and bytes (in name order)."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}:{a.dtype}:{a.shape};".encode())
        digest.update(a.tobytes())
    return digest.hexdigest()


def unflatten_state(template: Any, arrays: dict[str, np.ndarray], info: dict[str, Any]) -> Any:
    """Rebuild a state shaped like `template` (arrays or `ShapeDtypeStruct`s) from leaves.

    Raises:
        CheckpointMismatchError: naming the first leaves whose path or shape differ.
    """
    path_leaves, treedef = jax.tree_util.tree_flatten_with_path(template)
    want = []
    for path, leaf in path_leaves:
        shape = list(leaf.shape)
        dtype = str(leaf.dtype)
        if _is_key(leaf):
            data = jax.eval_shape(jax.random.key_data, leaf)
            shape, dtype = list(data.shape), str(data.dtype)
        want.append((jax.tree_util.keystr(path), shape, dtype))
    have = list(zip(info["paths"], info["shapes"], info["dtypes"], strict=True))
    problems = []
    if len(want) != len(have):
        problems.append(f"{len(have)} arrays in the checkpoint, {len(want)} expected")
    have_by_path = {p: (s, d) for p, s, d in have}
    for path, shape, dtype in want:
        if path not in have_by_path:
            problems.append(f"{path} missing from the checkpoint")
        elif have_by_path[path] != (shape, dtype):
            s, d = have_by_path[path]
            problems.append(f"{path}: checkpoint {d}{tuple(s)} vs expected {dtype}{tuple(shape)}")
        if len(problems) >= 4:
            break
    if problems:
        raise CheckpointMismatchError("; ".join(problems))
    leaves = []
    for i, (_, leaf) in enumerate(path_leaves):
        value = np.asarray(arrays[f"leaf_{i:05d}"])
        if i in info["key_leaves"]:
            value = jax.random.wrap_key_data(value, impl=info["key_impl"])
        elif getattr(leaf, "weak_type", False) and value.ndim == 0:
            # keep weak types as in a fresh state, so a restored state hits the same compile
            weak = jax.numpy.asarray(value.item())
            value = weak if weak.dtype == leaf.dtype else jax.numpy.asarray(value)
        else:
            value = jax.numpy.asarray(value)
        leaves.append(value)
    return jax.tree_util.tree_unflatten(treedef, leaves)


def meta_checksum(meta: dict[str, Any]) -> str:
    """SHA-256 of a checkpoint's JSON metadata (config, callback state, the leaves' description
    with their checksum), `meta_checksum` itself left out. Computed on the JSON text as it
    reads back (tuples as lists, sorted keys), so saving and restoring agree."""
    body = {k: v for k, v in meta.items() if k != "meta_checksum"}
    text = json.dumps(json.loads(json.dumps(body)), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
