#!/usr/bin/env python3
"""Runs every error row of docs/ERRORS.md and compares the exit code and the output.

    python3 tools/check_errors_doc.py [BUILD_DIR]     # default: build

It makes the scratch folder the document describes (data/bottle, model/model.gnm, the
damaged copies, the lying image headers, the broken VisA split files) in a temporary
directory, runs each row's command there with BUILD_DIR on the PATH, and checks:
  - the exit code and the output (stdout and stderr together; <br> is a line break),
    byte for byte after the scratch folder's path is removed;
  - that a failing command wrote no file anywhere in the scratch folder.
Rows whose command does not start with an app name (the fault table) are skipped; they
are checked by tests/test_robustness.cpp. Exit 1 when any row differs.
"""
import os
import random
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAST = "--epochs 1 --min-steps 0 --image-size 32 --n-features 8 --latent-size 8 --batch-size 8 --threads 2"


def run(cmd, cwd):
    p = subprocess.run(cmd, shell=True, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       env=dict(os.environ, OMP_NUM_THREADS="2"))
    return p.returncode, p.stdout.decode("utf-8", "replace")


def must(cmd, cwd):
    code, out = run(cmd, cwd)
    if code != 0:
        sys.exit(f"setup failed: {cmd}\n{out}")


def write(path, data):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def lying_bmp(width, height):
    header = b"BM" + struct.pack("<IHHI", 54 + 16, 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 0, 0, 0, 0)
    return header + info + b"\x7f" * 16


def lying_png(width, height):
    ihdr = struct.pack(">II", width, height) + b"\x08\x02\x00\x00\x00"
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + b"\0\0\0\0" + b"\x55" * 32


def sound_png(width, height):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">II", width, height) + b"\x08\x02\x00\x00\x00"
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


def rle8_bmp():
    palette = b"".join(bytes([i, i, i, 0]) for i in range(256))
    pixels = bytes([2, 1, 0, 0, 2, 1, 0, 1])  # two runs of 2, end of line, end of bitmap
    offset = 14 + 40 + len(palette)
    info = struct.pack("<IiiHHIIiiII", 40, 2, 2, 1, 8, 1, len(pixels), 2835, 2835, 256, 0)
    return b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset) + info + palette + pixels


def copy_data(s, name):
    shutil.copytree(f"{s}/data/bottle", f"{s}/{name}")
    return f"{s}/{name}"


def make_scratch(s):
    must("ganomaly_make_data --out data --size 32 --train 10 --test-good 3 --test-bad 3", s)
    must(f"ganomaly_train data/bottle --out model {FAST} --no-report", s)
    must("ganomaly_make_data --out mk16 --size 16 --train 1 --test-good 1 --test-bad 3", s)
    os.makedirs(f"{s}/empty")
    write(f"{s}/plain_file", b"x")
    os.mkfifo(f"{s}/fifo")
    with socket.socket(socket.AF_UNIX) as sock:  # the socket file stays after close
        sock.bind(f"{s}/sock")
    shutil.rmtree(f"{copy_data(s, 'half1')}/test")
    shutil.rmtree(f"{copy_data(s, 'half2')}/train")
    for f in os.listdir(f"{copy_data(s, 'nogood')}/train/good"):
        os.remove(f"{s}/nogood/train/good/{f}")
    write(f"{copy_data(s, 'zero')}/train/good/000.png", b"")
    png = open(f"{s}/data/bottle/train/good/000.png", "rb").read()
    write(f"{copy_data(s, 'trunc')}/train/good/000.png", png[: len(png) // 2])
    write(f"{copy_data(s, 'text')}/train/good/000.png", b"this is not an image\n")
    write(f"{copy_data(s, 'bigbmp')}/train/good/huge.bmp", lying_bmp(30000, 30000))
    write(f"{copy_data(s, 'lie')}/train/good/lie10k.bmp", lying_bmp(10000, 10000))
    write(f"{copy_data(s, 'bigpng')}/train/good/huge.png", lying_png(15000, 15000))
    write(f"{copy_data(s, 'soundpng')}/train/good/big.png", sound_png(20000, 20000))
    write(f"{copy_data(s, 'rle')}/train/good/rle.bmp", rle8_bmp())
    os.symlink("gone.png", f"{copy_data(s, 'dangling')}/train/good/001b.png")
    small_mask = open(f"{s}/mk16/bottle/ground_truth/crack/000_mask.png", "rb").read()
    write(f"{copy_data(s, 'mask')}/ground_truth/crack/000_mask.png", small_mask)
    test_png = open(f"{s}/data/bottle/test/good/000.png", "rb").read()
    write(f"{copy_data(s, 'ttrunc')}/test/good/000.png", test_png[: len(test_png) // 2])
    write(f"{s}/huge.bmp", lying_bmp(30000, 30000))
    write(f"{s}/lie10k.bmp", lying_bmp(10000, 10000))
    shutil.copytree(f"{s}/data/bottle/test/good", f"{s}/mixed")
    write(f"{s}/mixed/001b.png", b"this is not an image\n")

    model = open(f"{s}/model/model.gnm", "rb").read()
    os.makedirs(f"{s}/ck")
    write(f"{s}/ck/truncated.gnm", model[:5000])
    rng = random.Random(12345)
    write(f"{s}/ck/random.gnm", bytes(rng.randrange(256) for _ in model))
    flipped = bytearray(model)
    flipped[len(model) // 2] ^= 1
    write(f"{s}/ck/flipped.gnm", bytes(flipped))
    write(f"{s}/ck/empty.gnm", b"")
    newer = bytearray(model)
    newer[8:12] = struct.pack("<I", 3)  # the format version, after the 8 magic bytes
    newer[-4:] = struct.pack("<I", zlib.crc32(bytes(newer[:-4])))  # CRC-32 (IEEE), as the reader's
    write(f"{s}/ck/newer.gnm", bytes(newer))

    # Config files (ganomaly_train --config), each beside the same data and output folder.
    base = '"data": "data/bottle", "out": "run"'
    for name, entry in {"unknown": '"learning_rate": 0.001', "type": '"epochs": "ten"', "range": '"epochs": 0',
                        "size": '"image-size": 7', "lr": '"lr": 1e-300', "help": '"help": true',
                        "twice": '"epochs": 3, "epochs": 4', "huge": '"lr": 1e400', "format": '"format": "nonsense"'}.items():
        write(f"{s}/cfg/{name}.json", ("{" + base + ", " + entry + "}\n").encode())
    write(f"{s}/cfg/nodata.json", b'{"epochs": 5}\n')
    write(f"{s}/cfg/reldata.json", b'{"data": "nowhere", "out": "run"}\n')
    write(f"{s}/cfg/nocats.json", b'{"categories": []}\n')
    write(f"{s}/cfg/relroot.json", b'{"root": "nowhere"}\n')
    write(f"{s}/cfg/broken.json", b'{"epochs": 3,')
    write(f"{s}/cfg/list.json", b"[1, 2]\n")
    os.makedirs(f"{s}/sweep/mvtec/cable")  # ganomaly_categories --collect: a category folder without a run

    # VisA: one generated root per broken split file.
    must("ganomaly_make_data --out visa --layout visa --category candle --size 32 --train 10 --test-good 3 --test-bad 3", s)
    csv = open(f"{s}/visa/split_csv/1cls.csv").read()
    image = csv.splitlines()[1].split(",")[3]
    broken = {
        "visa_nolabel": "object,split,kind,image,mask\n" + csv.split("\n", 1)[1],
        "visa_fields": csv + "candle,train,normal\n",
        "visa_quote": csv + f'candle,train,normal,"{image},\n',
        "visa_label": csv + f"candle,train,weird,{image},\n",
        "visa_split": csv + f"candle,holdout,normal,{image},\n",
    }
    for name, text in broken.items():
        shutil.copytree(f"{s}/visa", f"{s}/{name}")
        write(f"{s}/{name}/split_csv/1cls.csv", text.encode())


def rows(markdown):
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 4:
            continue
        m = re.fullmatch(r"`(ganomaly_\w+ [^`]*)`", cells[1])
        if not m or not re.fullmatch(r"\d+", cells[2]) or cells[2] == "0":
            continue
        yield cells[0], m.group(1).replace("$FAST", FAST), int(cells[2]), cells[3]


def files_under(root):
    return {os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs}


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build"))
    os.environ["PATH"] = build + os.pathsep + os.environ["PATH"]
    doc = open(os.path.join(ROOT, "docs/ERRORS.md")).read()
    bad = checked = 0
    with tempfile.TemporaryDirectory(prefix="errors_doc_") as s:
        make_scratch(s)
        for case, cmd, code, expected in rows(doc):
            before = files_under(s)
            got_code, out = run(cmd, s)
            out = out.replace(s + "/", "")
            want = expected.replace("<br>", "\n").replace("\\|", "|") + "\n"
            new_files = sorted(files_under(s) - before)
            checked += 1
            if got_code != code or out != want or new_files:
                bad += 1
                print(f"DIFFERS: {case}: {cmd}\n  exit {got_code} (doc {code})\n  got:  {out!r}\n  doc:  {want!r}"
                      + (f"\n  left behind: {new_files[:3]}" if new_files else ""))
            for f in new_files:
                os.remove(f)
    print(f"{checked} rows checked, {bad} differ")
    return 1 if bad or not checked else 0


if __name__ == "__main__":
    sys.exit(main())
