#!/usr/bin/python3
"""Builds, at run time, an ``--extra`` folder for ``benchmarks/real_em.py`` from public EM that no model, setting or
rule of this project was trained or tuned on: all-tissue stacks, labelled 1 everywhere. Nothing here is data.

Sources (a bare git snapshot of ``zhixuhao/unet``, e.g. the ``fetch`` tool's copy under ``/work/.mirror``):

- ``isbi2012_vnc_sstem``: the ISBI 2012 challenge's ssTEM test volume (Drosophila first-instar larva ventral nerve
  cord; Cardona et al. 2010, PLoS Biol 8: e1000502), 30×512×512 at 4×4×50 nm: commit b45af4d,
  ``data/membrane/test/0.png`` … ``29.png``;
- ``epfl_hippocampus_fibsem_a`` / ``_b``: the EPFL hippocampus FIB-SEM (mouse CA1; Lucchi et al. 2012), 5 nm
  isotropic, 768×1024: commit 06680f0, ``data/epfl_test/slices/testing0000–0002.png`` (3 sections) and
  ``data/epfl_train/slices/training0000–0003.png`` (4 sections).

Usage::

    /usr/bin/python3 benchmarks/unseen_all_tissue.py --git /work/.mirror/zhixuhao+unet/repo --out /tmp/unseen
    /usr/bin/python3 benchmarks/real_em.py --no-composites --extra /tmp/unseen --only isbi   # and --only epfl

Scored on 2026-12-05 (tissue called non-brain, defaults): classical 0.0 / 0.0 / 0.0 %, U-Net v1 5.7 / 11.1 / 9.6 %,
U-Net v2 0.1 / 0.1 / 0.2 % (models/README.md, "The default is v2").
"""
import argparse
import io
import json
import os
import subprocess
import sys

import numpy as np

try:
    from PIL import Image
except ImportError:  # Debian: python3-pil
    sys.exit("unseen_all_tissue.py needs Pillow (apt-get install python3-pil)")

ISBI = ("b45af4d", [f"data/membrane/test/{i}.png" for i in range(30)])
EPFL_A = ("06680f0", [f"data/epfl_test/slices/testing{i:04d}.png" for i in range(3)])
EPFL_B = ("06680f0", [f"data/epfl_train/slices/training{i:04d}.png" for i in range(4)])
ITEMS = {
    "isbi2012_vnc_sstem": (ISBI, [50, 4, 4], "isbi2012"),
    "epfl_hippocampus_fibsem_a": (EPFL_A, [5, 5, 5], "epfl"),
    "epfl_hippocampus_fibsem_b": (EPFL_B, [5, 5, 5], "epfl"),
}


def section(git_dir, commit, path):
    """One grey section (a colour or grey+alpha PNG is brought to its luminance)."""
    blob = subprocess.run(["git", f"--git-dir={git_dir}", "show", f"{commit}:{path}"], check=True,
                          capture_output=True).stdout
    return np.asarray(Image.open(io.BytesIO(blob)).convert("L"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--git", required=True, help="bare git directory of a zhixuhao/unet snapshot")
    ap.add_argument("--out", required=True, help="folder to write NAME.npy, NAME_labels.npy and manifest.json into")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    manifest = {"items": []}
    for name, ((commit, paths), voxel, group) in ITEMS.items():
        stack = np.stack([section(a.git, commit, p) for p in paths])
        np.save(os.path.join(a.out, name + ".npy"), stack)
        np.save(os.path.join(a.out, name + "_labels.npy"), np.ones_like(stack))
        manifest["items"].append({"file": name + ".npy", "labels": name + "_labels.npy", "source_group": group,
                                  "voxel_size_zyx_nm": voxel})
        print(f"{name}: {stack.shape} {stack.dtype}")
    with open(os.path.join(a.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    main()
