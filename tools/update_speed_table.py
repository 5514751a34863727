#!/usr/bin/env python3
"""Pastes ganomaly_bench's Markdown output (--markdown FILE, which `make bench` writes to
build/speed_table.md) into README.md between the speed-table markers, so the README's
speed table is always a run's own output, never typed by hand.

  python3 tools/update_speed_table.py build/speed_table.md            # rewrites README.md
  python3 tools/update_speed_table.py build/speed_table.md --check    # exit 1 if README.md differs

A quick run (fewer than 20 timed steps or 3 repetitions), one with PyTorch or ONNX Runtime
missing, one where PyTorch did not try its configurations (--torch-probe-steps 0) or one
where a side used more cores than its threads is refused unless --force. Standard
library only.
"""
import argparse
import os
import re
import sys

BEGIN = "<!-- speed-table:begin (tools/update_speed_table.py writes what follows; do not edit by hand) -->"
END = "<!-- speed-table:end -->"
HEADER = re.compile(r"^<!-- ganomaly_bench table; quick=([01]) -->\n")


def splice(readme, table):
    """README text with `table` between the markers; ValueError when they are missing."""
    begin, end = readme.find(BEGIN), readme.find(END)
    if begin < 0 or end < begin:
        raise ValueError(f"the README has no '{BEGIN}' ... '{END}' pair")
    return readme[: begin + len(BEGIN)] + "\n" + table.rstrip("\n") + "\n" + readme[end:]


def check_table(table, force):
    """Raises ValueError for a file that is not a full, fair ganomaly_bench table."""
    m = HEADER.match(table)
    if not m:
        raise ValueError("not ganomaly_bench --markdown output (its first line is missing)")
    if force:
        return
    if m.group(1) == "1":
        raise ValueError("a quick run (fewer than 20 timed steps or 3 repetitions); rerun in full or pass --force")
    if "| torch train |" not in table:
        raise ValueError("a run without --compare-torch; rerun with it or pass --force")
    if "| ORT score |" not in table:
        raise ValueError("a run without ONNX Runtime (--compare-onnxruntime; see the table's notes for why it was "
                         "skipped); rerun with it or pass --force")
    if "PyTorch, at its fastest of the configurations" not in table:
        raise ValueError("PyTorch did not try its configurations (--torch-probe-steps 0); rerun or pass --force")
    if "**Warning:" in table:
        raise ValueError("a side used more cores than its threads; find out why, or pass --force")


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("table", help="the file ganomaly_bench --markdown wrote")
    ap.add_argument("--readme", default=os.path.join(here, "..", "README.md"))
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 if the README differs")
    ap.add_argument("--force", action="store_true", help="accept a quick, PyTorch-less or flagged run")
    a = ap.parse_args(argv)
    try:
        with open(a.table, encoding="utf-8") as f:
            table = f.read()
        with open(a.readme, encoding="utf-8") as f:
            readme = f.read()
    except OSError as e:
        print(f"update_speed_table: {e.filename}: cannot read ({e.strerror})", file=sys.stderr)
        return 2
    try:
        check_table(table, a.force)
        updated = splice(readme, table)
    except ValueError as e:
        print(f"update_speed_table: {a.table}: {e}", file=sys.stderr)
        return 2
    if a.check:
        same = updated == readme
        print(f"update_speed_table: {a.readme} {'matches' if same else 'differs from'} {a.table}")
        return 0 if same else 1
    if updated != readme:
        with open(a.readme, "w", encoding="utf-8") as f:
            f.write(updated)
    print(f"update_speed_table: {a.readme}: speed table {'replaced' if updated != readme else 'unchanged'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
