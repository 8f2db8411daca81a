"""napari.yaml: identical in both places, valid by npe2's rules, and every python_name resolves to a callable
with the signature napari will call it with."""

import ast
import copy
import importlib
import inspect
import tomllib

import numpy as np
import pytest
import yaml

import npe2_rules
from conftest import ROOT


@pytest.fixture(scope="module")
def manifest():
    return yaml.safe_load((ROOT / "napari.yaml").read_text())


def _resolve(python_name):
    module, _, attr = python_name.partition(":")
    obj = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def _commands(manifest):
    return {c["id"]: c for c in manifest["contributions"]["commands"]}


def test_package_copy_is_identical_to_the_source_of_truth():
    top = (ROOT / "napari.yaml").read_bytes()
    packaged = (ROOT / "python_shim" / "em_mask" / "napari.yaml").read_bytes()
    assert packaged == top, "run: cp napari.yaml python_shim/em_mask/napari.yaml"


def test_pyproject_declares_the_manifest_entry_point_and_ships_it(manifest):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["name"] == manifest["name"] == "napari-em-mask"
    entry = project["project"]["entry-points"]["napari.manifest"]
    assert entry == {"em_mask": "em_mask:napari.yaml"}
    assert "napari.yaml" in project["tool"]["setuptools"]["package-data"]["em_mask"]
    assert project["tool"]["setuptools"]["package-dir"] == {"": "python_shim"}
    assert "napari" in " ".join(project["project"]["optional-dependencies"]["napari"])


def test_manifest_follows_npe2_rules(manifest):
    assert npe2_rules.validate(manifest) == []
    assert manifest["display_name"] == "EM Mask"


@pytest.mark.parametrize("breakage", [
    lambda m: m["contributions"]["commands"][0].__setitem__("id", "other-plugin.x"),
    lambda m: m["contributions"]["commands"][0].__setitem__("python_name", "em_mask._widget.ClassicalMaskWidget"),
    lambda m: m["contributions"]["widgets"][0].__setitem__("command", "napari-em-mask.missing"),
    lambda m: m["contributions"]["widgets"][0].__setitem__("name", "extra field"),
    lambda m: m["contributions"]["writers"][0].__setitem__("layer_types", ["label"]),
    lambda m: m["contributions"]["menus"]["napari/layers/segment"].append({"command": "napari-em-mask.nope"}),
    lambda m: m.__setitem__("display_name", "_EM"),
])
def test_the_rule_checker_catches_breakage(manifest, breakage):
    broken = copy.deepcopy(manifest)
    breakage(broken)
    assert npe2_rules.validate(broken) != []


def test_expected_contributions_are_present(manifest):
    c = manifest["contributions"]
    assert {w["display_name"] for w in c["widgets"]} == {
        "Classical mask", "U-Net mask", "Post-process mask", "Batch: mask all open images", "Proofread mask",
        "Fine-tune U-Net"}
    assert [s["display_name"] for s in c["sample_data"]] == ["EM phantom"]
    from em_mask._reader import MRC_EXTENSIONS

    assert set(c["readers"][0]["filename_patterns"]) == {"*.h5", "*.hdf5"} | {f"*{e}" for e in MRC_EXTENSIONS}
    assert c["writers"][0]["layer_types"] == ["labels"]
    assert {m["command"] for m in c["menus"]["napari/layers/segment"]} == {w["command"] for w in c["widgets"]}


def test_every_python_name_resolves_to_a_callable(manifest):
    for cmd in manifest["contributions"]["commands"]:
        assert callable(_resolve(cmd["python_name"])), cmd["python_name"]


def _napari_viewer_kwarg(widget_cls):
    """napari's _instantiate_dock_widget (0.4.19 and current): which keyword gets the viewer, from __init__."""
    sig = inspect.signature(widget_cls.__init__)
    for param in sig.parameters.values():
        if param.name == "napari_viewer":
            return "napari_viewer"
        if param.annotation in ("napari.viewer.Viewer",):
            return param.name
    return None


def test_widgets_take_the_viewer_and_name_an_existing_builder(manifest):
    commands = _commands(manifest)

    def builders(module: str) -> set:
        source = (ROOT / "python_shim" / "em_mask" / "_qt" / f"{module}.py").read_text()
        return {n.name for n in ast.parse(source).body if isinstance(n, ast.ClassDef)}

    for widget in manifest["contributions"]["widgets"]:
        assert not widget.get("autogenerate", False)
        cls = _resolve(commands[widget["command"]]["python_name"])
        assert inspect.isclass(cls)
        assert _napari_viewer_kwarg(cls) == "napari_viewer", cls
        required = [p for p in inspect.signature(cls.__init__).parameters.values()
                    if p.default is p.empty and p.name != "self"]
        assert [p.name for p in required] == ["napari_viewer"]
        assert cls._builder in builders(cls._module), f"{cls.__name__} builds {cls._builder}, missing from _qt/{cls._module}.py"


def test_reader_returns_a_reader_or_none(manifest, tmp_path):
    commands = _commands(manifest)
    get_reader = _resolve(commands[manifest["contributions"]["readers"][0]["command"]]["python_name"])
    params = list(inspect.signature(get_reader).parameters.values())
    assert len(params) == 1 and params[0].default is params[0].empty
    (tmp_path / "a.txt").write_text("x")
    (tmp_path / "fake.h5").write_text("not hdf5")
    assert get_reader(str(tmp_path / "a.txt")) is None
    assert get_reader(str(tmp_path / "fake.h5")) is None
    assert get_reader(str(tmp_path / "missing.h5")) is None
    assert get_reader([str(tmp_path / "a.txt"), str(tmp_path / "b.txt")]) is None
    h5py = pytest.importorskip("h5py")
    with h5py.File(tmp_path / "real.h5", "w") as f:
        f["raw"] = np.zeros((2, 3, 4), np.uint8)
    reader = get_reader(str(tmp_path / "real.h5"))
    assert callable(reader)
    layers = reader(str(tmp_path / "real.h5"))
    assert isinstance(layers, list) and all(isinstance(t, tuple) and len(t) == 3 for t in layers)


def test_writer_signature_is_single_layer(manifest):
    commands = _commands(manifest)
    writer = manifest["contributions"]["writers"][0]
    # a single-layer writer (one layer type, no +/* multiplicity) is called as writer(path, data, meta)
    assert npe2_rules.parse_layer_type(writer["layer_types"][0])[1] == (1, 2)
    fn = _resolve(commands[writer["command"]]["python_name"])
    assert list(inspect.signature(fn).parameters) == ["path", "data", "meta"]


def test_sample_data_takes_no_arguments(manifest):
    commands = _commands(manifest)
    for sample in manifest["contributions"]["sample_data"]:
        fn = _resolve(commands[sample["command"]]["python_name"])
        required = [p for p in inspect.signature(fn).parameters.values() if p.default is p.empty]
        assert required == []
