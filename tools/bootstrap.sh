#!/usr/bin/env bash
# Installs what EM Mask needs on a fresh Debian 12 machine; a no-op when everything is there.
# .NET comes with the machine image (dotnet 10 SDK); Python packages come from Debian (there is no PyPI here).
set -euo pipefail
if ! command -v dotnet >/dev/null 2>&1; then
  echo "bootstrap: the .NET 10 SDK (dotnet) is required and not on PATH" >&2
  exit 1
fi
PY=/usr/bin/python3
need=()
$PY -c "import numpy, scipy, h5py, yaml, tifffile, pytest, skimage" 2>/dev/null || \
  need+=(python3-numpy python3-scipy python3-h5py python3-yaml python3-tifffile python3-pytest python3-skimage python3-setuptools python3-pip)
$PY -c "import dask.array, distributed, zarr" 2>/dev/null || need+=(python3-dask python3-distributed python3-zarr)
$PY -c "import mrcfile" 2>/dev/null || need+=(python3-mrcfile) # MRC interop tests
if [ "${EMMASK_WITH_TORCH:-1}" = 1 ]; then
  $PY -c "import torch" 2>/dev/null || need+=(python3-torch)
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "bootstrap: installing ${need[*]} from Debian" >&2
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq >/dev/null
  $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
