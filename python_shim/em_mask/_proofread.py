"""napari-free proofreading logic: flip the region under a click, restrict an edit to a slice or a box, and rank
the mask's least certain regions for review.

Every function takes plain numpy arrays and returns the edit as ``(indices, values)`` (napari's Labels history
format, see :func:`em_mask._layers.apply_undoable`), so the widget applies each edit as one undo step.
Connected components come from ``scipy.ndimage``, imported on first use: scipy is a dependency of napari, so it is
there wherever the widgets are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

__all__ = [
    "parse_sections",
    "FlipRefused",
    "ReviewRegion",
    "box_slices",
    "flip_at",
    "region_edit",
    "review_regions",
]

#: Scopes of a click-flip: the 3D component, or the 2D component in the clicked z slice.
SCOPES = ("3D", "slice")


class FlipRefused(ValueError):
    """A click that would not make a sensible edit (outside the mask, or on the outer background)."""


def _ndimage():
    from scipy import ndimage

    return ndimage


def _component(binary: np.ndarray, point: Sequence[int]) -> np.ndarray:
    """Boolean array of the face-connected component of ``binary`` that holds ``point`` (``binary[point]`` True)."""
    nd = _ndimage()
    labels, _ = nd.label(binary, structure=nd.generate_binary_structure(binary.ndim, 1))
    return labels == labels[tuple(point)]


def _touches_border(component: np.ndarray) -> bool:
    for axis in range(component.ndim):
        first = np.take(component, 0, axis=axis)
        last = np.take(component, component.shape[axis] - 1, axis=axis)
        if first.any() or last.any():
            return True
    return False


def flip_at(mask: np.ndarray, point: Sequence[float], scope: str = "3D") -> tuple[tuple, np.ndarray, str]:
    """The edit that flips the connected region under ``point``: a tissue island is removed, a hole is filled.

    Parameters
    ----------
    mask : numpy.ndarray
        2D (y, x) or 3D (z, y, x) labels; non-zero is tissue. Not modified.
    point : sequence of float
        Data coordinates of the click (rounded to the nearest voxel); as many as ``mask.ndim``.
    scope : {"3D", "slice"}
        "3D": the 6-connected component in the whole volume. "slice": the 4-connected component within the clicked
        z slice only (the other slices keep their voxels). For a 2D mask both are the same.

    Returns
    -------
    (indices, values, description)
        ``indices`` a tuple of index arrays into ``mask``, ``values`` the new labels there (0 where tissue is
        removed, 1 where a hole is filled), and a one-line description for the status bar.

    Raises
    ------
    FlipRefused
        When ``point`` lies outside the mask, or on background connected to the volume's (slice's) border: that
        is the outside, not a hole, and filling it would make everything tissue.
    """
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}; got {scope!r}.")
    mask = np.asarray(mask)
    if mask.ndim not in (2, 3):
        raise FlipRefused(f"Click-flip works on 2D or 3D masks; this one has {mask.ndim} dimensions.")
    if len(point) < mask.ndim:
        raise FlipRefused(f"The click has {len(point)} coordinates; the mask has {mask.ndim} dimensions.")
    voxel = tuple(int(round(float(p))) for p in point[-mask.ndim:])
    if any(v < 0 or v >= n for v, n in zip(voxel, mask.shape)):
        raise FlipRefused(f"The click at {voxel} lies outside the mask {mask.shape}.")
    if scope == "slice" and mask.ndim == 3:
        z = voxel[0]
        plane = mask[z] != 0
        indices, values, what = _flip_plane(plane, voxel[1:], f" in slice z={z}")
        return (np.full(indices[0].shape, z, dtype=indices[0].dtype), *indices), values, what
    return _flip_plane(mask != 0, voxel, "")


def _flip_plane(tissue: np.ndarray, voxel: tuple, where: str) -> tuple[tuple, np.ndarray, str]:
    inside = bool(tissue[voxel])
    component = _component(tissue if inside else ~tissue, voxel)
    if not inside and _touches_border(component):
        raise FlipRefused(
            f"The click at {voxel}{where} is on the outer background (it reaches the border), not on a hole; "
            "nothing to fill. Click inside a hole, or on tissue to remove it."
        )
    indices = np.nonzero(component)
    n = indices[0].size
    if inside:
        return indices, np.zeros(n, np.uint8), f"removed a tissue region of {n:,} voxels{where}"
    return indices, np.ones(n, np.uint8), f"filled a hole of {n:,} voxels{where}"


def box_slices(shape: Sequence[int], corners: np.ndarray, z: Optional[int] = None) -> tuple:
    """Index slices of the box spanned by ``corners`` (data coordinates, one row per vertex), clipped to ``shape``.

    The box covers the corners' extent on the last two axes (y, x). On the first axis of a 3D shape it covers the
    single slice ``z`` when given, else every slice (a rectangle drawn in one slice stands for a column).

    Raises
    ------
    ValueError
        When the box misses the volume.
    """
    corners = np.asarray(corners, dtype=float)
    if corners.ndim != 2 or corners.shape[1] < 2:
        raise ValueError("A box needs at least two corners with y and x coordinates.")
    slices = []
    for axis, n in zip((-2, -1), shape[-2:]):
        lo = int(np.floor(corners[:, axis].min() + 0.5))
        hi = int(np.floor(corners[:, axis].max() + 0.5)) + 1
        lo, hi = max(lo, 0), min(hi, int(n))
        if hi <= lo:
            raise ValueError("The drawn box lies outside the mask.")
        slices.append(slice(lo, hi))
    if len(shape) == 3:
        zs = slice(0, int(shape[0])) if z is None else slice(int(z), int(z) + 1)
        return (zs, *slices)
    return tuple(slices)


def region_edit(region: tuple, before: np.ndarray, after: np.ndarray) -> tuple[tuple, np.ndarray]:
    """The voxels where ``after`` differs from ``before`` (both the crop ``mask[region]``), as indices into the
    whole mask plus their new values."""
    local = np.nonzero(np.asarray(before) != np.asarray(after))
    offsets = [s.start or 0 for s in region]
    indices = tuple(ix + off for ix, off in zip(local, offsets))
    return indices, np.asarray(after)[local]


@dataclass
class ReviewRegion:
    """One region of the review list.

    Attributes
    ----------
    rank : int
        1 = the least certain region.
    flat : numpy.ndarray
        Flat (C-order) indices of its voxels in the mask.
    size : int
        Voxels.
    certainty : float
        Mean probability that the mask's current label is right (0.5 = a coin flip, below 0.5 the map disagrees
        with the mask).
    doubt : float
        Expected wrong voxels, sum of (1 - certainty): the ranking key.
    tissue_fraction : float
        Share of its voxels that the mask calls tissue.
    centre : tuple of float
        Centroid in data coordinates.
    bbox : tuple of slice
        Bounding box.
    state : str
        "" (open), "accepted" or "flipped".
    """

    rank: int
    flat: np.ndarray = field(repr=False)
    size: int
    certainty: float
    doubt: float
    tissue_fraction: float
    centre: tuple
    bbox: tuple = field(repr=False)
    state: str = ""

    def describe(self) -> str:
        kind = "tissue" if self.tissue_fraction >= 0.5 else "non-tissue"
        where = ", ".join(f"{c:.0f}" for c in self.centre)
        mark = {"accepted": " ✓ accepted", "flipped": " ⇄ flipped"}.get(self.state, "")
        return f"#{self.rank}: {self.size:,} vox {kind}, certainty {self.certainty:.2f} at ({where}){mark}"

    def flip_edit(self, mask: np.ndarray) -> tuple[tuple, np.ndarray]:
        """The edit that gives every voxel of the region the opposite of its majority label."""
        value = 0 if self.tissue_fraction >= 0.5 else 1
        indices = np.unravel_index(self.flat, mask.shape)
        return indices, np.full(self.flat.size, value, np.uint8)


def review_regions(mask: np.ndarray, confidence: np.ndarray, *, below: float = 0.7, min_size: int = 20,
                   limit: int = 50, tile: int = 32) -> list[ReviewRegion]:
    """Rank the regions where the mask is least certain, for a proofreader to visit.

    A voxel is doubtful when the probability that its current label is right, ``confidence`` where the mask says
    tissue and ``1 - confidence`` where it does not, is below ``below``. Along a correct boundary that band is a
    voxel or two thick; one erosion removes it, so what stays is thick doubt (weak tissue, a missed trachea, an
    edit or post-processing step that the map disagrees with). Its 26-connected pieces, grown back over the
    doubtful voxels next to them and cut into tiles of ``tile`` voxels, are the regions; they are ranked by
    expected wrong voxels (the sum of ``1 - certainty``), largest first.

    Parameters
    ----------
    mask : numpy.ndarray
        2D or 3D labels; non-zero is tissue.
    confidence : numpy.ndarray
        Same shape; the classical confidence or the U-Net probability (0..1, tissue).
    below : float
        Certainty under which a voxel is doubtful (0.5 < below <= 1). Default 0.7.
    min_size : int
        Regions with fewer voxels are left out. Default 20.
    limit : int
        At most this many regions are returned. Default 50.
    tile : int
        Edge of the tiles (voxels) that long regions are cut into. Default 32.

    Returns
    -------
    list of ReviewRegion
        Ranked, least certain first; empty when nothing is doubtful.

    Raises
    ------
    ValueError
        On a shape mismatch or a ``below`` outside (0.5, 1].
    """
    mask = np.asarray(mask)
    confidence = np.asarray(confidence, dtype=np.float32)
    if mask.shape != confidence.shape:
        raise ValueError(f"The mask {mask.shape} and the confidence map {confidence.shape} differ in shape.")
    if tile < 1:
        raise ValueError(f"tile must be at least 1; got {tile}.")
    if not 0.5 < below <= 1.0:
        raise ValueError(f"below must lie in (0.5, 1]; got {below}.")
    nd = _ndimage()
    tissue = mask != 0
    certainty = np.where(tissue, confidence, 1.0 - confidence)
    doubtful = certainty < below
    if not doubtful.any():
        return []
    full = nd.generate_binary_structure(mask.ndim, mask.ndim)
    core = nd.binary_erosion(doubtful, structure=nd.generate_binary_structure(mask.ndim, 1))
    labels, count = nd.label(core, structure=full)
    if count == 0:
        return []
    # Grow each core back over its doubtful neighbours (one step: the band the erosion took off).
    grown = nd.grey_dilation(labels, footprint=full)
    labels = np.where(doubtful & (labels == 0), grown, labels)
    # Cut regions into tiles, so that a long doubtful stretch of boundary becomes places one can look at and edit.
    flat = np.flatnonzero(labels)
    coords = np.unravel_index(flat, mask.shape)
    tiles_per_axis = [(n + tile - 1) // tile for n in mask.shape]
    tile_id = np.zeros(flat.size, np.int64)
    for ix, n_tiles in zip(coords, tiles_per_axis):
        tile_id = tile_id * n_tiles + ix // tile
    key = labels.ravel()[flat].astype(np.int64) * int(np.prod(tiles_per_axis)) + tile_id
    order = np.argsort(key, kind="stable")
    flat, key = flat[order], key[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    ends = np.r_[starts[1:], key.size]
    flat_certainty = certainty.ravel()
    flat_tissue = tissue.ravel()
    regions = []
    for a, b in zip(starts, ends):
        if b - a < min_size:
            continue
        piece = flat[a:b]
        c = flat_certainty[piece]
        where = np.unravel_index(piece, mask.shape)
        regions.append(ReviewRegion(
            rank=0, flat=piece, size=int(piece.size), certainty=float(c.mean()), doubt=float((1.0 - c).sum()),
            tissue_fraction=float(flat_tissue[piece].mean()),
            centre=tuple(float(ix.mean()) for ix in where),
            bbox=tuple(slice(int(ix.min()), int(ix.max()) + 1) for ix in where),
        ))
    regions.sort(key=lambda r: -r.doubt)
    regions = regions[:limit]
    for i, r in enumerate(regions, 1):
        r.rank = i
    return regions


def parse_sections(text: str, depth: int, current: int) -> Optional[list]:
    """The sections a proofreader names: "current", "all" (None: every section), or "3, 5-7" (0-based z indices).

    Raises
    ------
    ValueError
        Text that is none of these, or an index outside ``0..depth-1``.
    """
    words = text.strip().lower()
    if words in ("", "current"):
        return [current]
    if words == "all":
        return None
    sections: set = set()
    for part in re.split(r"[,\s]+", words):
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if match is None:
            raise ValueError(f"Proofread sections: '{part}' is not a section number or range (e.g. '3, 5-7', "
                             "'current' or 'all').")
        first, last = int(match.group(1)), int(match.group(2) or match.group(1))
        if first > last or last >= depth:
            raise ValueError(f"Proofread sections: '{part}' lies outside 0..{depth - 1}.")
        sections.update(range(first, last + 1))
    return sorted(sections)
