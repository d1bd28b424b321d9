"""benchmarks/results/: every folder `<benchmark>/<tag>/` has its meta.json, and INDEX.md lists
exactly what is on disk (a result added without `python benchmarks/index.py` fails here)."""

from __future__ import annotations

import json

import index
import results_dir

RECORD = ("benchmark", "tag", "command", "date_utc", "machine", "git_commit")


def test_index_md_is_up_to_date_with_the_results_on_disk():
    written = (index.RESULTS / "INDEX.md").read_text()
    assert written == index.render(), "run: python benchmarks/index.py"


def test_every_result_folder_has_a_result_and_a_meta_naming_it():
    folders = [f for f in sorted(index.RESULTS.glob("*/*")) if f.is_dir()]
    assert len(folders) >= 30
    for folder in folders:
        meta = json.loads((folder / "meta.json").read_text())
        assert set(RECORD) <= set(meta), folder
        assert (meta["benchmark"], meta["tag"]) == (folder.parent.name, folder.name)
        assert any(f.name.startswith("result.") for f in folder.iterdir()), folder
    assert not [f for f in index.RESULTS.iterdir() if f.is_file() and f.name != "INDEX.md"]


def test_a_new_result_gets_a_meta_and_a_row(tmp_path):
    folder = results_dir.result_dir("bench", "t1", tmp_path / "bench" / "t1")
    (folder / "result.md").write_text("# Steps per second\n\nbody\n")
    meta = json.loads((folder / "meta.json").read_text())
    assert set(RECORD) <= set(meta) and meta["command"].startswith("python ")
    assert meta["machine"]["devices"] and meta["machine"]["jax"]
    text = index.render(tmp_path)
    row = text.splitlines()[-1]
    assert row.startswith("| bench | t1 | Steps per second | 20")
    assert f"`{meta['command']}`" in row and "[result.md](bench/t1/result.md)" in row
    results_dir.result_dir("bench", "t2", tmp_path / "bench" / "t2", what="a | b")
    assert index.render(tmp_path).splitlines()[-1].startswith("| bench | t2 | a \\| b |")


def test_out_into_another_benchmarks_results_folder_is_filed_under_that_folder(monkeypatch,
                                                                              tmp_path):
    """`heldout.py --out benchmarks/results/seed_discrete/heldout_6`: meta.json names
    `seed_discrete`, where the index looks; an --out elsewhere keeps the script's name."""
    monkeypatch.setattr(results_dir, "RESULTS", tmp_path / "results")
    inside = results_dir.result_dir("heldout", "x", tmp_path / "results" / "seed_discrete" / "h6")
    outside = results_dir.result_dir("heldout", "x", tmp_path / "smoke" / "h6")
    assert json.loads((inside / "meta.json").read_text())["benchmark"] == "seed_discrete"
    assert json.loads((outside / "meta.json").read_text())["benchmark"] == "heldout"
