#!/usr/bin/env python3
"""Mark a marker-only symbol version requirement weak in a copied ELF shared library.

Why: TorchSharp 0.107's libLibTorchSharp.so was linked against GCC 13's libstdc++ and so
requires GLIBCXX_3.4.32, although the only symbol bound to that version is
``std::ios_base_library_init()`` -- a marker that GCC 13 emits and nothing ever calls.
Debian 12 ships libstdc++ with GLIBCXX_3.4.30, so the loader refuses the library.
Setting VER_FLG_WEAK on the Vernaux entry (and STB_WEAK on the marker's dynsym entry)
lets glibc's loader accept the library; a weak version that is absent is not an error.

Safety rules:
* Only versions missing from the system library are touched, and only when every
  symbol bound to the version is on the marker allow-list; otherwise the file is left
  alone and a warning is printed (the library would then fail to load exactly as before).
* The file is rewritten via a temp file + rename so hard links (e.g. into ~/.nuget)
  are never modified in place.
* A no-op (exit 0) where the system libstdc++ already defines the version.

Usage: elf_weaken_version.py LIB.so [LIB2.so ...]
Stdlib only.
"""
import os
import struct
import sys
import tempfile

SHT_DYNSYM = 11
SHT_GNU_VERDEF = 0x6FFFFFFD
SHT_GNU_VERNEED = 0x6FFFFFFE
SHT_GNU_VERSYM = 0x6FFFFFFF
VER_FLG_WEAK = 0x2
STB_WEAK = 2

# Symbols that exist only as link-time markers and are never called.
MARKER_SYMBOLS = {"_ZSt21ios_base_library_initv"}

SEARCH_DIRS = [
    "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64",
    "/lib", "/usr/lib", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
]


class Elf:
    def __init__(self, data):
        if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
            raise ValueError("not a little-endian ELF64 file")
        self.data = data
        shoff, = struct.unpack_from("<Q", data, 0x28)
        shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
        self.sections = []
        for i in range(shnum):
            (name, typ, flags, addr, off, size, link, info, align, entsize) = struct.unpack_from(
                "<IIQQQQIIQQ", data, shoff + i * shentsize)
            self.sections.append(dict(type=typ, offset=off, size=size, link=link, info=info,
                                      entsize=entsize))

    def section(self, typ):
        for s in self.sections:
            if s["type"] == typ:
                return s
        return None

    def string(self, strtab, off):
        start = self.sections[strtab]["offset"] + off
        end = self.data.index(b"\0", start)
        return self.data[start:end].decode("ascii", "replace")

    def version_definitions(self):
        sec = self.section(SHT_GNU_VERDEF)
        names = set()
        if sec is None:
            return names
        off = sec["offset"]
        for _ in range(sec["info"]):
            _ver, _flags, _ndx, cnt, _hash, aux, nxt = struct.unpack_from("<HHHHIII", self.data, off)
            a = off + aux
            for _ in range(cnt):
                name, anext = struct.unpack_from("<II", self.data, a)
                names.add(self.string(sec["link"], name))
                a += anext
            if nxt == 0:
                break
            off += nxt
        return names

    def version_needs(self):
        """Yield (file, version name, version index, offset of the vna_flags field, flags)."""
        sec = self.section(SHT_GNU_VERNEED)
        if sec is None:
            return
        off = sec["offset"]
        for _ in range(sec["info"]):
            _ver, cnt, file_, aux, nxt = struct.unpack_from("<HHIII", self.data, off)
            fname = self.string(sec["link"], file_)
            a = off + aux
            for _ in range(cnt):
                _hash, flags, other, name, anext = struct.unpack_from("<IHHII", self.data, a)
                yield fname, self.string(sec["link"], name), other, a + 4, flags
                if anext == 0:
                    break
                a += anext
            if nxt == 0:
                break
            off += nxt

    def symbols_with_version(self, index):
        """Yield (name, offset of st_info) of dynsym entries bound to version index."""
        dynsym = self.section(SHT_DYNSYM)
        versym = self.section(SHT_GNU_VERSYM)
        count = dynsym["size"] // dynsym["entsize"]
        for i in range(count):
            v, = struct.unpack_from("<H", self.data, versym["offset"] + 2 * i)
            if (v & 0x7FFF) != index:
                continue
            base = dynsym["offset"] + i * dynsym["entsize"]
            name, = struct.unpack_from("<I", self.data, base)
            yield self.string(dynsym["link"], name), base + 4


def find_system_library(soname):
    for d in SEARCH_DIRS:
        p = os.path.join(d, soname)
        if os.path.exists(p):
            return os.path.realpath(p)
    return None


def weaken(path):
    with open(path, "rb") as f:
        data = bytearray(f.read())
    elf = Elf(bytes(data))
    cache = {}
    changed = []
    for fname, version, index, flags_off, flags in elf.version_needs():
        if fname not in cache:
            lib = find_system_library(fname)
            cache[fname] = Elf(open(lib, "rb").read()).version_definitions() if lib else None
        defined = cache[fname]
        if defined is None or version in defined:
            continue  # unknown library (leave to the loader) or already satisfied
        syms = list(elf.symbols_with_version(index))
        names = {n for n, _ in syms}
        if not names <= MARKER_SYMBOLS:
            print(f"elf_weaken_version: {path}: {fname} lacks {version}, needed by "
                  f"{sorted(names - MARKER_SYMBOLS)[:3]}; left unchanged", file=sys.stderr)
            continue
        if not flags & VER_FLG_WEAK:
            struct.pack_into("<H", data, flags_off, flags | VER_FLG_WEAK)
            changed.append(version)
        for name, info_off in syms:
            info = data[info_off]
            if info >> 4 != STB_WEAK:
                data[info_off] = (STB_WEAK << 4) | (info & 0xF)
                changed.append(name)
    if not changed:
        return False
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), prefix=".weaken-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        os.replace(tmp, path)  # new inode: a hard link into the NuGet cache stays untouched
    except BaseException:
        os.unlink(tmp)
        raise
    print(f"elf_weaken_version: {path}: weakened {', '.join(changed)}")
    return True


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    for p in argv[1:]:
        if os.path.exists(p):
            weaken(p)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
