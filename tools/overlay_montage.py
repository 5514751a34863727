#!/usr/bin/env python3
"""Puts a few 8-bit RGB PNGs side by side (the README's anomaly-map picture).

    python3 tools/overlay_montage.py OUT.png A.png B.png ... [--crop 96] [--scale 2] [--gap 4]

Standard library only (zlib, struct): reads non-interlaced 8-bit RGB PNGs as
ganomaly_infer --maps writes its overlays, keeps each one's centred --crop square (to
keep the file small), scales each up by an integer factor
(nearest neighbour, so pixels stay crisp), and writes them in one row on white.
"""
import argparse
import struct
import zlib


def read_rgb_png(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise SystemExit(f"{path}: not a PNG file")
    at, idat, header = 8, b"", None
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        at += 12 + length
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour != 2 or interlace != 0:
        raise SystemExit(f"{path}: expected 8-bit RGB without interlacing")
    raw, stride, rows, prev = zlib.decompress(idat), width * 3, [], bytearray(width * 3)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - 3] if i >= 3 else 0
            b, c = prev[i], prev[i - 3] if i >= 3 else 0
            p = a + b - c
            pred = [0, a, b, (a + b) // 2,
                    a if abs(p - a) <= abs(p - b) and abs(p - a) <= abs(p - c) else b if abs(p - b) <= abs(p - c) else c][kind]
            line[i] = (line[i] + pred) & 0xFF
        rows.append(line)
        prev = line
    return width, height, rows


def write_rgb_png(path, width, height, rows):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    raw = b"".join(b"\x00" + bytes(r) for r in rows)
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
    open(path, "wb").write(png)


def centred_crop(picture, side):
    width, height, rows = picture
    if side <= 0 or (side >= width and side >= height):
        return picture
    w, h = min(side, width), min(side, height)
    left, top = (width - w) // 2, (height - h) // 2
    return w, h, [r[left * 3:(left + w) * 3] for r in rows[top:top + h]]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("images", nargs="+")
    ap.add_argument("--scale", type=int, default=1)
    ap.add_argument("--gap", type=int, default=4)
    ap.add_argument("--crop", type=int, default=0, help="keep the centred square of this side (0: all)")
    a = ap.parse_args()
    pictures = [centred_crop(read_rgb_png(p), a.crop) for p in a.images]
    height = max(h for _, h, _ in pictures) * a.scale
    width = sum(w * a.scale for w, _, _ in pictures) + a.gap * (len(pictures) - 1)
    out = [bytearray(b"\xff" * width * 3) for _ in range(height)]
    left = 0
    for w, h, rows in pictures:
        for y in range(h * a.scale):
            src = rows[y // a.scale]
            for x in range(w * a.scale):
                s = (x // a.scale) * 3
                out[y][(left + x) * 3:(left + x) * 3 + 3] = src[s:s + 3]
        left += w * a.scale + a.gap
    write_rgb_png(a.out, width, height, out)


if __name__ == "__main__":
    main()
