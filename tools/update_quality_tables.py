#!/usr/bin/env python3
"""Pastes ganomaly_categories' quality tables (OUT/<dataset>_table.md, which every run and
every --collect writes) into README.md between the quality-table markers of their data
set, so the README's tables are always a run's own output, never typed by hand.

  python3 tools/update_quality_tables.py runs/categories                  # every <dataset>_table.md in OUT
  python3 tools/update_quality_tables.py runs/sweep/mvtec_table.md        # one data set
  python3 tools/update_quality_tables.py --empty visa "no VisA data on the machine this ran on"
  python3 tools/update_quality_tables.py runs/categories --check          # exit 1 if README.md differs

A data set without results keeps its rows, every cell empty, under a line that says why
(--empty DATASET REASON). Headings are moved to --heading-level (default 4, under the
README's "### The tables"). Standard library only.
"""
import argparse
import os
import re
import sys

# The categories of each data set in table order, and their row names: as
# apps/categories/category_runner.cpp's known_categories() and the model README's
# spelling (MVTec AD capitalised); tests/test_update_quality_tables.py checks both
# against a ganomaly_categories table.
CATEGORIES = {
    "mvtec": ["bottle", "cable", "capsule", "carpet", "grid", "hazelnut", "leather", "metal_nut", "pill",
              "screw", "tile", "toothbrush", "transistor", "wood", "zipper"],
    "btad": ["01", "02", "03"],
    "visa": ["candle", "capsules", "cashew", "chewinggum", "fryum", "macaroni1", "macaroni2", "pcb1", "pcb2",
             "pcb3", "pcb4", "pipe_fryum"],
}
HEADINGS = {
    "mvtec": "[MVTec AD Dataset](https://www.mvtec.com/company/research/datasets/mvtec-ad)",
    "btad": "BTAD Dataset",
    "visa": "[VisA Dataset](https://github.com/amazon-science/spot-diff)",
}
MARKER = re.compile(r"^<!-- ganomaly_categories table; dataset=(mvtec|btad|visa) -->\n")


def begin_marker(dataset):
    return (f"<!-- quality-table:{dataset}:begin (tools/update_quality_tables.py writes what follows; "
            "do not edit by hand) -->")


def end_marker(dataset):
    return f"<!-- quality-table:{dataset}:end -->"


def row_name(dataset, category):
    return category[:1].upper() + category[1:] if dataset == "mvtec" else category


def empty_table(dataset, reason):
    """The data set's table with every cell empty, under a line that says why."""
    names = [row_name(dataset, c) for c in CATEGORIES[dataset]] + ["Average"]
    width = max(len(n) for n in names + ["Model"])
    line = lambda first, a, b: f"| {first.ljust(width)} | {a.ljust(11)} | {b.ljust(8)} |\n"
    table = line("Model", "Image AUROC", "Image F1") + line("-" * width, "-" * 11, "-" * 8)
    table += "".join(line(n, "", "") for n in names)
    return f"## {HEADINGS[dataset]}\n\nNo figures: {reason}.\n\n{table}"


def read_table(path):
    """(dataset, markdown) of a ganomaly_categories _table.md; ValueError otherwise."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    m = MARKER.match(text)
    if not m:
        raise ValueError("not a ganomaly_categories table (its first line, the marker, is missing)")
    return m.group(1), text[m.end():]


def with_heading_level(markdown, level):
    return re.sub(r"^#+ ", "#" * level + " ", markdown, flags=re.M)


def splice(readme, dataset, table):
    """README text with `table` between the data set's markers; ValueError when they are missing."""
    begin, end = begin_marker(dataset), end_marker(dataset)
    b, e = readme.find(begin), readme.find(end)
    if b < 0 or e < b:
        raise ValueError(f"the README has no '{begin}' ... '{end}' pair")
    return readme[: b + len(begin)] + "\n" + table.rstrip("\n") + "\n" + readme[e:]


def tables_in(path):
    """The _table.md files a path names: the file itself, or each <dataset>_table.md in a folder."""
    if not os.path.isdir(path):
        return [path]
    found = [os.path.join(path, f"{d}_table.md") for d in CATEGORIES if os.path.isfile(os.path.join(path, f"{d}_table.md"))]
    if not found:
        raise ValueError("no mvtec_table.md, btad_table.md or visa_table.md in it (ganomaly_categories --out writes them)")
    return found


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tables", nargs="*", help="ganomaly_categories' OUT folder, or OUT/<dataset>_table.md files")
    ap.add_argument("--empty", nargs=2, action="append", default=[], metavar=("DATASET", "REASON"),
                    help="write DATASET's table with empty cells, saying REASON")
    ap.add_argument("--readme", default=os.path.normpath(os.path.join(here, "..", "README.md")))
    ap.add_argument("--heading-level", type=int, default=4, help="the level of the tables' headings (default 4)")
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 if the README differs")
    a = ap.parse_args(argv)
    if not a.tables and not a.empty:
        ap.error("give ganomaly_categories' tables, or --empty DATASET REASON")
    if not 1 <= a.heading_level <= 6:
        ap.error(f"--heading-level: expected 1 to 6, got {a.heading_level}")
    pastes = {}  # dataset -> (source, markdown)
    def fail(message):
        print(f"update_quality_tables: {message}", file=sys.stderr)
        return 2

    for arg in a.tables:
        try:
            paths = tables_in(arg)
        except ValueError as e:
            return fail(f"{arg}: {e}")
        for path in paths:
            try:
                dataset, table = read_table(path)
            except OSError as e:
                return fail(f"{path}: {e.strerror}")
            except ValueError as e:
                return fail(f"{path}: {e}")
            if dataset in pastes:
                return fail(f"{path}: a second {dataset} table (the first: {pastes[dataset][0]})")
            pastes[dataset] = (path, table)
    for dataset, reason in a.empty:
        if dataset not in CATEGORIES:
            return fail(f"--empty: expected mvtec, btad or visa, got '{dataset}'")
        if dataset in pastes:
            return fail(f"--empty {dataset}: {pastes[dataset][0]} gives that table")
        if not reason.strip():
            return fail(f"--empty {dataset}: say why the table is empty")
        pastes[dataset] = ("--empty", empty_table(dataset, reason.strip().rstrip(".")))
    with open(a.readme, encoding="utf-8") as f:
        readme = f.read()
    updated = readme
    try:
        for dataset in CATEGORIES:
            if dataset in pastes:
                updated = splice(updated, dataset, with_heading_level(pastes[dataset][1], a.heading_level))
    except ValueError as e:
        return fail(f"{a.readme}: {e}")
    names = ", ".join(d for d in CATEGORIES if d in pastes)
    if a.check:
        same = updated == readme
        print(f"update_quality_tables: {a.readme}: {names} {'match' if same else 'differ'}")
        return 0 if same else 1
    if updated != readme:
        tmp = a.readme + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(updated)
        os.replace(tmp, a.readme)
    print(f"update_quality_tables: {a.readme}: {names} {'replaced' if updated != readme else 'unchanged'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
