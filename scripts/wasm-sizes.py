#!/usr/bin/env python3
"""What the browser bundle is made of: the largest functions and the crates they come from.

    python3 scripts/wasm-sizes.py target/wasm32-unknown-unknown/wasm-release/frontend.wasm [N]

Reads the code section (each function's body size) and the `name` section (their names), so
run it on the wasm *before* wasm-opt, which drops the names. Sizes are raw bytes of code.
"""
import re
import sys
from collections import Counter


def leb(data, i):
    result = shift = 0
    while True:
        b = data[i]
        i += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return result, i


def sections(data):
    i = 8
    while i < len(data):
        kind = data[i]
        size, i = leb(data, i + 1)
        yield kind, data[i : i + size]
        i += size


def parse(data):
    imported = 0
    bodies, names = [], {}
    for kind, body in sections(data):
        if kind == 2:  # imports: imported functions come first in the index space
            count, j = leb(body, 0)
            for _ in range(count):
                for _ in range(2):
                    n, j = leb(body, j)
                    j += n
                k = body[j]
                j += 1
                if k == 0:
                    imported += 1
                    _, j = leb(body, j)
                elif k == 1:
                    j += 1
                    flags, j = leb(body, j)
                    _, j = leb(body, j)
                    if flags & 1:
                        _, j = leb(body, j)
                elif k == 2:
                    flags, j = leb(body, j)
                    _, j = leb(body, j)
                    if flags & 1:
                        _, j = leb(body, j)
                elif k == 3:
                    j += 2
                else:
                    j += 2
        elif kind == 10:
            count, j = leb(body, 0)
            for _ in range(count):
                size, j = leb(body, j)
                bodies.append(size)
                j += size
        elif kind == 0:
            n, j = leb(body, 0)
            if body[j : j + n] != b"name":
                continue
            j += n
            while j < len(body):
                sub = body[j]
                size, j = leb(body, j + 1)
                end = j + size
                if sub == 1:
                    count, k = leb(body, j)
                    for _ in range(count):
                        idx, k = leb(body, k)
                        ln, k = leb(body, k)
                        names[idx] = body[k : k + ln].decode("utf-8", "replace")
                        k += ln
                j = end
    return [(size, names.get(imported + i, f"func{imported + i}")) for i, size in enumerate(bodies)]


def crate_of(name):
    """The crate a (mangled) function name belongs to; for a trait impl, its type's crate."""
    v0 = re.search(r"Cs[0-9a-zA-Z]*_(\d+)([A-Za-z_][A-Za-z0-9_]*)", name)
    if name.startswith("_R") and v0:
        return v0.group(2)[: int(v0.group(1))]
    m = re.match(r"_ZN(\d+)(.*)", name)
    if m:
        first = m.group(2)[: int(m.group(1))]
        if not first.startswith("_$LT$"):
            return first
        for noise in ("_$LT$", "$LT$", "$RF$", "mut$u20$", "dyn$u20$", "$u20$", "$BP$", "_"):
            while first.startswith(noise):
                first = first[len(noise):]
        ident = re.match(r"[a-z][a-z0-9_]*(?=\.\.)", first)
        return ident.group(0) if ident else "(generic impls)"
    m = re.match(r"<?(?:<|&)?([a-z_][a-z0-9_]*)::", name)
    return m.group(1) if m else "(other)"


def main():
    data = open(sys.argv[1], "rb").read()
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    funcs = parse(data)
    total = sum(s for s, _ in funcs)
    print(f"{len(data)} B file, {total} B of code in {len(funcs)} functions")
    print(f"\nlargest {n} functions:")
    for size, name in sorted(funcs, reverse=True)[:n]:
        print(f"{size:>9} B  {name[:110]}")
    by_crate = Counter()
    for size, name in funcs:
        by_crate[crate_of(name)] += size
    print(f"\nlargest {n} crates by code:")
    for crate, size in by_crate.most_common(n):
        print(f"{size:>9} B  {100 * size / total:5.1f} %  {crate}")


if __name__ == "__main__":
    main()
