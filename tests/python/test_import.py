"""Importing the package must not pull in napari, magicgui, Qt or .NET (napari imports plugins lazily, and
the numpy API is used in scripts without a GUI)."""

import subprocess
import sys

from conftest import ROOT

HEAVY = ("napari", "magicgui", "qtpy", "PyQt5", "PyQt6", "PySide2", "PySide6", "clr", "Python.Runtime")


def test_import_em_mask_and_contribution_modules_stays_light():
    code = (
        "import sys; sys.path.insert(0, %r)\n"
        "import em_mask, em_mask._widget, em_mask._reader, em_mask._writer, em_mask._sample_data, em_mask._layers\n"
        "heavy = %r\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    ) % (str(ROOT / "python_shim"), HEAVY)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_public_api_is_exported():
    import em_mask

    for name in ("classical_mask", "unet_mask", "postprocess", "phantom", "CancelToken", "EmMaskError",
                 "CancelledError", "DotnetUnavailableError"):
        assert callable(getattr(em_mask, name)), name
    assert issubclass(em_mask.CancelledError, em_mask.EmMaskError)
    assert issubclass(em_mask.DotnetUnavailableError, em_mask.EmMaskError)
