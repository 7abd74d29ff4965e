"""Marks one version need of an ELF shared library weak (VER_FLG_WEAK), in place.

ld.so refuses to load a library that needs a symbol version its dependency lacks, unless that need is weak; then it
loads it and binds the symbols by name. Usage: weak_version_need.py LIBRARY VERSION (e.g. GLIBCXX_3.4.32). Running
it again changes nothing.
"""

import struct
import sys

VER_FLG_WEAK = 0x2
SHT_GNU_VERNEED = 0x6FFFFFFE


def main(path, version):
    with open(path, "r+b") as f:
        elf = bytearray(f.read())
        if elf[:4] != b"\x7fELF" or elf[4] != 2 or elf[5] != 1:
            sys.exit(f"{path}: not a 64-bit little-endian ELF file")
        shoff, = struct.unpack_from("<Q", elf, 0x28)
        shentsize, shnum = struct.unpack_from("<HH", elf, 0x3A)
        sections = [struct.unpack_from("<IIQQQQIIQQ", elf, shoff + i * shentsize) for i in range(shnum)]
        verneed = next((s for s in sections if s[1] == SHT_GNU_VERNEED), None)
        if verneed is None:
            sys.exit(f"{path}: no version needs")
        strings = sections[verneed[6]][4]
        offset = verneed[4]
        found = False
        while True:
            _, count, _, aux, following = struct.unpack_from("<HHIII", elf, offset)
            entry = offset + aux
            for _ in range(count):
                _, flags, _, name, following_aux = struct.unpack_from("<IHHII", elf, entry)
                end = elf.index(b"\0", strings + name)
                if elf[strings + name:end].decode() == version:
                    struct.pack_into("<H", elf, entry + 4, flags | VER_FLG_WEAK)
                    found = True
                entry += following_aux
            if following == 0:
                break
            offset += following
        if not found:
            sys.exit(f"{path}: needs no version {version}")
        f.seek(0)
        f.write(elf)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: weak_version_need.py LIBRARY VERSION")
    main(sys.argv[1], sys.argv[2])
