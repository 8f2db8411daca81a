"""Tests for elf_weaken_version.py: /usr/bin/python3 -m pytest tools/test_elf_weaken_version.py"""
import glob
import os
import shutil
import struct

import pytest

import elf_weaken_version as ewv

TORCHSHARP = sorted(glob.glob(os.path.expanduser("~/.nuget/packages/torchsharp/*/runtimes/linux-x64/native/libLibTorchSharp.so")))


def needs(path):
    elf = ewv.Elf(open(path, "rb").read())
    return {v: flags for _f, v, _i, _o, flags in elf.version_needs()}


@pytest.mark.skipif(not TORCHSHARP, reason="TorchSharp package not restored")
def test_weakens_missing_marker_version_once_and_leaves_hard_links_alone(tmp_path):
    src = tmp_path / "orig.so"
    shutil.copy(TORCHSHARP[-1], src)
    link = tmp_path / "libLibTorchSharp.so"
    os.link(src, link)
    system = ewv.Elf(open(ewv.find_system_library("libstdc++.so.6"), "rb").read()).version_definitions()
    changed = ewv.weaken(str(link))
    if "GLIBCXX_3.4.32" in system:
        assert not changed  # nothing to do on a new enough libstdc++
        return
    assert changed
    assert needs(str(link))["GLIBCXX_3.4.32"] & ewv.VER_FLG_WEAK
    assert not needs(str(src))["GLIBCXX_3.4.32"] & ewv.VER_FLG_WEAK  # the other hard link is untouched
    other = {v: f for v, f in needs(str(src)).items() if v != "GLIBCXX_3.4.32"}
    assert other == {v: f for v, f in needs(str(link)).items() if v != "GLIBCXX_3.4.32"}
    before = open(link, "rb").read()
    assert not ewv.weaken(str(link))  # idempotent
    assert open(link, "rb").read() == before


def test_library_with_satisfied_needs_is_unchanged(tmp_path):
    lib = ewv.find_system_library("libz.so.1") or ewv.find_system_library("libm.so.6")
    dst = tmp_path / "lib.so"
    shutil.copy(lib, dst)
    before = open(dst, "rb").read()
    assert not ewv.weaken(str(dst))
    assert open(dst, "rb").read() == before


def test_rejects_non_elf(tmp_path):
    p = tmp_path / "x.so"
    p.write_bytes(b"not an elf file at all" * 10)
    with pytest.raises(ValueError):
        ewv.weaken(str(p))
