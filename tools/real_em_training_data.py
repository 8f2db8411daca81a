#!/usr/bin/env python3
"""Builds U-Net training files from the real-EM corpus (../shared/data/real-em), at run time; nothing here is data.

Writes HDF5 files (``/raw``, ``/gt`` 0/1, ``/labelled`` 0/1 where the corpus says 255 = ignore) and ``index.json``
into ``--out`` (default ``.emmask-build/real-em-training``):

- **real**: every corpus item, brought to about the U-Net's 16 nm: each section is averaged over f×f pixel blocks
  with f = round(16 nm / pixel size) (at least 1; the corpus's unknown pixel size gives 1), and z too when the item is
  about isotropic (z spacing < 1.5× the pixel size), as ``emmask mask --scale auto`` feeds the network. Labels follow
  by majority; a block with any ignored voxel is ignored. Items brought to 16 nm also appear at their own pixel size
  (``real_native_*``, at most 256×256 in-plane) with ``--native`` composites each.
- **composite**: real tissue texture pasted into phantom-shaped masks (``emmask phantom`` ``/gt``), with resin,
  grainy resin or exact-constant padding outside (dark resin is available in ``composite()`` but not used). The resin's noise has the tissue's own strength and
  correlation length (estimated on its flattest patches), with slow shading, grain, dirt specks, knife marks and tile
  seams; the tissue side of the boundary gets a dark surface layer (membrane or cuticle) and the seam is blurred, as
  real boundaries look. Labels are exact: 1 inside the phantom mask.
- **phantom**: ``emmask phantom`` volumes at 16 nm, v1's training seeds: 16 of 64×128×128 and 8 resin-dominated ones of
  64×224×224 (tissue fraction 0.1–0.3), so that phantom skills (tracheae, pure-resin windows) are kept.
- **val**: held-out phantoms (seeds 1001, 1002) and one composite per source on fresh seeds, for checkpoint choice.

Each file carries its ``source_group`` (composites: the group of their tissue), so that a leave-one-source-out fold
leaves out everything derived from the held-out source::

    /usr/bin/python3 tools/real_em_training_data.py build [--out DIR]
    /usr/bin/python3 tools/real_em_training_data.py args --exclude GROUP [--out DIR]   # prints --data/--val options

Only ``source_group`` values of the manifest are used; the corpus's provenance is in its SOURCES.md.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np
import scipy.ndimage as ndi

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DATA = os.path.normpath(os.path.join(ROOT, "..", "shared", "data", "real-em"))
DEFAULT_OUT = os.path.join(ROOT, ".emmask-build", "real-em-training")
MODEL_NM = 16.0
STYLES = ["resin", "grainy", "padding", "darkresin"]
# Styles the composites cycle through. Dark resin is left out: in the corpus's TEM-like contrast resin is bright, and
# dark smooth regions inside tissue (heterochromatin, dense surface layers) are what a held-out source got wrong with
# it; inversion augmentation still shows dark resin.
CYCLE = ["resin", "grainy", "padding"]


# ---------------------------------------------------------------- noise estimate (strength and correlation length)

def _gauss_kernel(s, r=None):
    if s <= 0:
        return np.array([1.0])
    r = int(4 * s + 0.5) if r is None else r
    x = np.arange(-r, r + 1)
    k = np.exp(-0.5 * x * x / s / s)
    return k / k.sum()


_K1 = np.array([1.0, -2.0, 1.0])
_K2 = np.array([1.0, 0, -2.0, 0, 1.0])
_CS = np.linspace(0, 2.0, 81)
# Ratio of the dilated to the plain second-difference response of white noise blurred by a Gaussian of sigma c.
_RATIO = np.array([np.linalg.norm(np.convolve(_K2, _gauss_kernel(c))) / np.linalg.norm(np.convolve(_K1, _gauss_kernel(c)))
                   for c in _CS])


def _patches(a, p):
    h, w = (a.shape[0] // p) * p, (a.shape[1] // p) * p
    return a[:h, :w].reshape(h // p, p, w // p, p).transpose(0, 2, 1, 3).reshape(-1, p * p)


def noise_estimate(section, p=16, frac=0.25):
    """White-noise strength and correlation length (Gaussian sigma, px) of a 2-D section, from its flattest patches."""
    sl = section.astype(float)
    c1 = ndi.convolve(sl, np.outer(_K1, _K1), mode="reflect")
    c2 = ndi.convolve(sl, np.outer(_K2, _K2), mode="reflect")
    g = np.hypot(*np.gradient(ndi.gaussian_filter(sl, 3.0)))
    e1 = np.median(np.abs(_patches(c1, p)), 1)
    e2 = np.median(np.abs(_patches(c2, p)), 1)
    gm = _patches(g, p).mean(1)
    if gm.size < 4:
        return 1e-4, 0.0
    sel = np.argsort(gm)[:max(4, int(frac * gm.size))]
    m1 = np.median(e1[sel])
    ratio = np.median(e2[sel]) / m1 if m1 > 0 else 1.0
    corr = float(np.interp(np.sqrt(max(ratio, 1e-9)), _RATIO, _CS))
    s_lap = 1.4826 * np.median(np.abs(c1 - np.median(c1)))
    kc = np.convolve(_K1, _gauss_kernel(corr))
    return max(s_lap / (np.linalg.norm(kc) ** 2), 1e-6), corr


# ---------------------------------------------------------------- composites

def composite(tissue, mask, rng, style):
    """Real tissue inside ``mask`` (1), resin or padding of ``style`` outside. Returns the float image."""
    t = tissue.astype(np.float32)
    lo, hi = np.percentile(t, [0.5, 99.5])
    z, y, x = t.shape
    step = max(1, z // 4)
    estimates = [noise_estimate(t[k]) for k in range(0, z, step)]
    s_w = float(np.median([e[0] for e in estimates]))
    corr = float(np.median([e[1] for e in estimates]))
    w = rng.standard_normal(t.shape)
    if corr > 0.05:
        w = ndi.gaussian_filter(w, (0, corr, corr))
    sigma_n = s_w * np.linalg.norm(_gauss_kernel(corr)) ** 2 if corr > 0.05 else s_w  # the noise's own std
    if style == "padding":
        value = float(rng.choice([0.0, 0.0, 255.0 if hi > 1 else 1.0, lo]))
        r = np.full(t.shape, value, np.float32)
        soft = mask.astype(np.float32)
        edge_dark = 0.0
    else:
        if style == "darkresin":
            level = lo - rng.uniform(0.0, 0.15) * (hi - lo)
        else:
            level = hi + rng.uniform(-0.15, 0.1) * (hi - lo)
        r = level + rng.uniform(0.8, 1.25) * s_w * w
        shade = ndi.gaussian_filter(rng.standard_normal((z, max(2, y // 32), max(2, x // 32))), 1)
        shade = ndi.zoom(shade, (1, y / shade.shape[1], x / shade.shape[2]), order=1)[:, :y, :x]
        r = r + rng.uniform(0, 0.08) * (hi - lo) * shade / (np.abs(shade).max() + 1e-9)
        if style == "grainy" or rng.random() < 0.3:
            grain = ndi.gaussian_filter(rng.standard_normal(t.shape), (0, 1.5, 1.5))
            r += rng.uniform(0.3, 0.8) * sigma_n * grain / (grain.std() + 1e-9)
            for _ in range(int(rng.integers(0, 10) * y * x / 512 / 512) + 1):
                zz, yy, xx = rng.integers(0, z), rng.integers(0, y), rng.integers(0, x)
                rad = rng.uniform(1, 5)
                y0, y1 = max(0, int(yy - 3 * rad)), min(y, int(yy + 3 * rad) + 1)
                x0, x1 = max(0, int(xx - 3 * rad)), min(x, int(xx + 3 * rad) + 1)
                gy, gx = np.mgrid[y0:y1, x0:x1]
                r[zz, y0:y1, x0:x1] -= rng.uniform(0.2, 0.8) * (hi - lo) * np.exp(-((gy - yy) ** 2 + (gx - xx) ** 2) / (2 * rad * rad))
        if rng.random() < 0.4:  # a tile seam in the resin
            c = int(rng.integers(x // 4, 3 * x // 4)) if rng.random() < 0.5 else None
            if c is not None:
                r[:, :, c:] += rng.uniform(-0.06, 0.06) * (hi - lo)
            else:
                c = int(rng.integers(y // 4, 3 * y // 4))
                r[:, c:, :] += rng.uniform(-0.06, 0.06) * (hi - lo)
        soft = ndi.gaussian_filter(mask.astype(np.float32), (0, rng.uniform(0.5, 1.5), rng.uniform(0.5, 1.5)))
        edge_dark = rng.uniform(0, 0.35)
    img = t.copy()
    if edge_dark > 0:
        # A dark surface layer (glia, basal lamina, cuticle) on the tissue side of the boundary.
        width = rng.uniform(1, 5)
        dist = np.stack([ndi.distance_transform_edt(mask[k]) for k in range(z)])
        img -= edge_dark * (hi - lo) * np.exp(-0.5 * (dist / width) ** 2) * (mask > 0)
    out = soft * img + (1 - soft) * r
    if style != "padding" and rng.random() < 0.3:  # knife marks across the whole section
        axis = 2 if rng.random() < 0.5 else 1
        prof = ndi.gaussian_filter1d(rng.standard_normal(t.shape[axis]), 0.7)
        prof *= rng.uniform(0.3, 1.0) * sigma_n / (prof.std() + 1e-9)
        out += prof[None, None, :] if axis == 2 else prof[None, :, None]
    return out.astype(np.float32)


# ---------------------------------------------------------------- helpers

def factors(item):
    """(z factor, in-plane factor) that bring an item towards the model's 16 nm."""
    vs = item.get("voxel_size_zyx_nm")
    if not vs:
        return 1, 1
    xy = max(vs[1], vs[2])
    f = max(1, int(round(MODEL_NM / xy)))
    fz = f if vs[0] < 1.5 * xy else 1
    return fz, f


def downsample(raw, labels, fz, f):
    if fz == 1 and f == 1:
        return raw.astype(np.float32), labels
    z, y, x = (raw.shape[0] // fz) * fz, (raw.shape[1] // f) * f, (raw.shape[2] // f) * f
    r = raw[:z, :y, :x].astype(np.float32).reshape(z // fz, fz, y // f, f, x // f, f).mean((1, 3, 5))
    lab = labels[:z, :y, :x].reshape(z // fz, fz, y // f, f, x // f, f)
    ignored = (lab == 255).any((1, 3, 5))
    tissue = (lab == 1).mean((1, 3, 5)) >= 0.5
    out = np.where(ignored, 255, tissue.astype(np.uint8)).astype(np.uint8)
    return r, out


def phantom_mask(shape, seed, tmp):
    path = os.path.join(tmp, f"mask{seed}.h5")
    subprocess.run([os.path.join(ROOT, "emmask"), "phantom", path, "--seed", str(seed), "--shape", *map(str, shape),
                    "--force", "--quiet"], check=True, capture_output=True)
    with h5py.File(path, "r") as f:
        return (f["gt"][:] > 0).astype(np.uint8)


def phantom(path, seed, invert, shape=(64, 128, 128), tissue_fraction=None, artefacts=True):
    cmd = [os.path.join(ROOT, "emmask"), "phantom", path, "--seed", str(seed), "--shape", *map(str, shape), "--force", "--quiet"]
    if invert:
        cmd.append("--invert")
    if tissue_fraction is not None:
        cmd += ["--tissue-fraction", str(tissue_fraction)]
    if not artefacts:
        cmd.append("--no-artefacts")
    subprocess.run(cmd, check=True, capture_output=True)
    with h5py.File(path, "a") as f:
        f.create_dataset("labelled", data=np.ones(f["gt"].shape, np.uint8), compression="gzip")


def write(path, raw, labels):
    with h5py.File(path, "w") as f:
        f.create_dataset("raw", data=raw, compression="gzip")
        f.create_dataset("gt", data=(labels == 1).astype(np.uint8), compression="gzip")
        f.create_dataset("labelled", data=(labels != 255).astype(np.uint8), compression="gzip")


def build(a):
    manifest = json.load(open(os.path.join(a.data, "manifest.json")))
    os.makedirs(a.out, exist_ok=True)
    index = []
    rng = np.random.default_rng(a.seed)
    with tempfile.TemporaryDirectory(prefix="emmask-masks-") as tmp:
        for n, item in enumerate(manifest["items"]):
            name, group = item["file"][:-4], item["source_group"]
            raw = np.load(os.path.join(a.data, item["file"]))
            labels = np.load(os.path.join(a.data, item["labels"]))
            fz, f = factors(item)
            raw, labels = downsample(raw, labels, fz, f)
            path = os.path.join(a.out, f"real_{name}.h5")
            write(path, raw, labels)
            index.append({"file": path, "group": group, "kind": "real", "shape": list(raw.shape), "factors": [fz, f]})
            print(f"real {name}: {raw.shape} (factors z {fz}, yx {f})", flush=True)
            if (labels == 0).any():
                continue  # composites are made from all-tissue items

            def composites(tissue, count, first_seed, tag, with_val):
                crop = tissue[:, :a.max_size, :a.max_size]
                for k in range(count + (1 if with_val else 0)):
                    style = CYCLE[k % len(CYCLE)]
                    seed = first_seed + k
                    mask = phantom_mask(crop.shape, seed, tmp)
                    img = composite(crop, mask, rng, style)
                    kind = "val" if k == count else "composite"
                    path = os.path.join(a.out, f"{kind}_{tag}{name}_{k}_{style}.h5")
                    write(path, img, mask)
                    index.append({"file": path, "group": group, "kind": kind, "shape": list(img.shape), "style": style,
                                  "mask_seed": seed, "tissue_fraction": round(float(mask.mean()), 3)})
                    print(f"{kind} {tag}{name} {style}: tissue {mask.mean():.2f}", flush=True)

            composites(raw, a.composites, 5000 + 100 * n, "", True)
            if (fz, f) != (1, 1) and a.native > 0:
                # The same source at its own pixel size too: files of unknown pixel size run at full resolution, often
                # finer than 16 nm, and zoom alone (resampling) does not show fine pixels' noise.
                full = np.load(os.path.join(a.data, item["file"]))[:, :a.max_size, :a.max_size].astype(np.float32)
                path = os.path.join(a.out, f"real_native_{name}.h5")
                write(path, full, np.load(os.path.join(a.data, item["labels"]))[:, :a.max_size, :a.max_size])
                index.append({"file": path, "group": group, "kind": "real", "shape": list(full.shape), "factors": [1, 1]})
                print(f"real native {name}: {full.shape}", flush=True)
                composites(full, a.native, 6000 + 100 * n, "native_", False)
        # v1's training phantoms (same seeds and pattern as its recipe), so that its skills are kept: a quarter without
        # artefacts, and large resin-dominated volumes whose windows hold only resin.
        for i in range(a.phantoms):
            seed = 101 + i
            path = os.path.join(a.out, f"phantom_{seed}.h5")
            phantom(path, seed, invert=i % 2 == 1, artefacts=i % 4 != 3)
            index.append({"file": path, "group": "phantom", "kind": "phantom", "seed": seed})
        for i in range(a.big_phantoms):
            seed = 301 + i
            path = os.path.join(a.out, f"phantom_big_{seed}.h5")
            phantom(path, seed, invert=i % 2 == 1, shape=(64, 224, 224), tissue_fraction=0.1 + 0.2 * ((i * 7) % 5) / 4.0,
                    artefacts=i % 4 != 3)
            index.append({"file": path, "group": "phantom", "kind": "phantom", "seed": seed})
        for seed in (1001, 1002):
            path = os.path.join(a.out, f"val_phantom_{seed}.h5")
            phantom(path, seed, invert=seed % 2 == 0)
            index.append({"file": path, "group": "phantom", "kind": "val", "seed": seed})
    with open(os.path.join(a.out, "index.json"), "w") as fh:
        json.dump(index, fh, indent=1)
    print(f"{len(index)} files in {a.out}")


def args_for(a):
    index = json.load(open(os.path.join(a.out, "index.json")))
    exclude = set(a.exclude.split(",")) if a.exclude else set()
    out = []
    for e in index:
        if e["group"] in exclude:
            continue
        if e["kind"] == "val":
            # Validation volumes must be fully labelled and are only used to choose a checkpoint.
            out += ["--val", e["file"]]
        else:
            # Patches are drawn from volumes uniformly: real items twice (real tissue is the scarce hard case) and
            # phantoms twice (about half the patches, so that v1's phantom skills stay).
            weight = a.real_weight if e["kind"] == "real" else a.phantom_weight if e["kind"] == "phantom" else 1
            # --phantoms-default-augment: phantoms keep v1's augmentation in a real-em run (emmask train's
            # --default-augment-data); the real-EM artefacts are for real data.
            option = "--default-augment-data" if e["kind"] == "phantom" and a.phantoms_default_augment else "--data"
            out += [option, e["file"]] * weight
    print(" ".join(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["build", "args"])
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--composites", type=int, default=4, help="training composites per all-tissue item (plus 1 for validation)")
    ap.add_argument("--native", type=int, default=2,
                    help="composites per item at the item's own pixel size, for items brought to 16 nm (0: none)")
    ap.add_argument("--phantoms", type=int, default=16, help="phantoms of 64x128x128 (seeds 101...)")
    ap.add_argument("--big-phantoms", type=int, default=8, help="resin-dominated phantoms of 64x224x224 (seeds 301...)")
    ap.add_argument("--max-size", type=int, default=256, help="composites use at most this many pixels along y and x")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--real-weight", type=int, default=2, help="args: list each real item this many times")
    ap.add_argument("--phantom-weight", type=int, default=2, help="args: list each phantom this many times")
    ap.add_argument("--exclude", default=None, help="args: leave out these source groups (comma-separated)")
    ap.add_argument("--phantoms-default-augment", action="store_true",
                    help="args: list phantoms with --default-augment-data (v1's augmentation under --augment real-em)")
    a = ap.parse_args()
    if a.command == "build":
        build(a)
    else:
        args_for(a)


if __name__ == "__main__":
    sys.exit(main())
