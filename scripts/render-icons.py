# Run from the repository root: python3 scripts/render-icons.py (writes public/icon-192.png and icon-512.png).
# Renders public/favicon.svg's design (a teal rounded square with a yellow bolt) as PNG icons.
import struct, zlib
def inside_poly(x, y, pts):
    c = False
    j = len(pts) - 1
    for i in range(len(pts)):
        xi, yi = pts[i]; xj, yj = pts[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            c = not c
        j = i
    return c
def inside_rrect(x, y, r):
    cx = min(max(x, r), 32 - r); cy = min(max(y, r), 32 - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r and 0 <= x <= 32 and 0 <= y <= 32
bolt = [(18, 3), (7, 18), (14, 18), (12, 29), (23, 14), (16, 14)]
teal = (0x0f, 0x76, 0x6e); yellow = (0xfd, 0xe0, 0x47)
def render(size, ss=3):
    rows = []
    for py in range(size):
        row = bytearray([0])
        for px in range(size):
            acc = [0, 0, 0, 0]
            for sy in range(ss):
                for sx in range(ss):
                    x = (px + (sx + .5) / ss) * 32 / size
                    y = (py + (sy + .5) / ss) * 32 / size
                    if inside_poly(x, y, bolt):
                        col = yellow
                    elif inside_rrect(x, y, 7):
                        col = teal
                    else:
                        continue
                    acc[0] += col[0]; acc[1] += col[1]; acc[2] += col[2]; acc[3] += 255
            n = ss * ss
            a = acc[3] // n
            if a:
                cov = acc[3] / 255
                row += bytes([int(acc[0] / cov), int(acc[1] / cov), int(acc[2] / cov), a])
            else:
                row += bytes([0, 0, 0, 0])
        rows.append(bytes(row))
    raw = b"".join(rows)
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
for size in (192, 512):
    open(f"public/icon-{size}.png", "wb").write(render(size))
