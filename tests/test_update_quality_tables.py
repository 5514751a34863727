#!/usr/bin/env python3
"""tools/update_quality_tables.py on tiny generated results: ganomaly_categories runs one
32 px category of each data set (a second or so each), the tool pastes the tables into a
README with the markers, leaves the rest of it alone, and refuses what it must refuse.
Also checks the tool's category lists against ganomaly_categories' own tables.

  python3 tests/test_update_quality_tables.py BUILD_DIR
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOOL = os.path.join(HERE, "..", "tools", "update_quality_tables.py")
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import update_quality_tables as uqt  # noqa: E402

BUILD = None
TINY = ["--image-size", "32", "--n-features", "8", "--latent-size", "8", "--epochs", "1", "--min-steps", "0",
        "--batch-size", "4", "--threads", "1"]
README = """# A project

Text before.

{markers}
Text after, kept as it is.
"""


def markers():
    return "\n".join(f"{uqt.begin_marker(d)}\nold {d} text\n{uqt.end_marker(d)}\n" for d in uqt.CATEGORIES)


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, **kw)


def table_rows(markdown):
    """The first cell of each row between the rule and the end of the table."""
    rows, in_table = [], False
    for line in markdown.splitlines():
        if line.startswith("| ---") or line.startswith("| -"):
            in_table = True
            continue
        if in_table:
            if not line.startswith("|"):
                break
            rows.append(line.split("|")[1].strip())
    return rows


class QualityTables(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ganomaly_quality_tables_")
        cls.out = os.path.join(cls.tmp, "out")
        for layout, category in (("mvtec", "bottle"), ("btad", "02"), ("visa", "pcb1")):
            data = os.path.join(cls.tmp, "data_" + layout)
            r = run([os.path.join(BUILD, "ganomaly_make_data"), "--layout", layout, "--category", category,
                     "--kind", "bottle", "--size", "32", "--train", "12", "--test-good", "4", "--test-bad", "4",
                     "--out", data])
            assert r.returncode == 0, r.stdout + r.stderr
            r = run([os.path.join(BUILD, "ganomaly_categories"), "--dataset", layout, "--root", data, "--out", cls.out]
                    + TINY)
            assert r.returncode == 0, r.stdout + r.stderr

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def readme(self, text=None, name="README.md"):
        path = os.path.join(self.tmp, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text if text is not None else README.format(markers=markers()))
        return path

    def tool(self, *args):
        return run([sys.executable, TOOL, *args])

    def test_pastes_every_table_of_an_out_folder_and_keeps_the_rest(self):
        path = self.readme()
        r = self.tool(self.out, "--readme", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, f"update_quality_tables: {path}: mvtec, btad, visa replaced\n")
        with open(path, encoding="utf-8") as f:
            text = f.read()
        self.assertTrue(text.startswith("# A project\n\nText before.\n\n"))
        self.assertTrue(text.endswith("Text after, kept as it is.\n"))
        for d in uqt.CATEGORIES:
            with open(os.path.join(self.out, f"{d}_table.md"), encoding="utf-8") as f:
                table = f.read()
            body = table.split("\n", 1)[1]  # without the marker line
            expected = re.sub(r"^## ", "#### ", body, flags=re.M)
            self.assertIn(uqt.begin_marker(d) + "\n" + expected.rstrip("\n") + "\n" + uqt.end_marker(d), text)
            self.assertNotIn(f"old {d} text", text)
        # Pasted again: unchanged; --check agrees, and tells a hand edit apart.
        r = self.tool(self.out, "--readme", path)
        self.assertIn("unchanged", r.stdout)
        self.assertEqual(self.tool(self.out, "--readme", path, "--check").returncode, 0)
        with open(path, "a", encoding="utf-8") as f:
            f.write("x")
        with open(path, encoding="utf-8") as f:
            edited = f.read().replace("| Bottle ", "| Bottle!", 1)
        with open(path, "w", encoding="utf-8") as f:
            f.write(edited)
        r = self.tool(self.out, "--readme", path, "--check")
        self.assertEqual(r.returncode, 1)
        self.assertIn("differ", r.stdout)

    def test_the_tools_category_lists_are_ganomaly_categories_rows(self):
        for d in uqt.CATEGORIES:
            with open(os.path.join(self.out, f"{d}_table.md"), encoding="utf-8") as f:
                rows = table_rows(f.read())
            self.assertEqual(rows, [uqt.row_name(d, c) for c in uqt.CATEGORIES[d]] + ["Average"], d)
            self.assertEqual(table_rows(uqt.empty_table(d, "why")), rows, d)
        # One category ran per data set: its row has figures, every other row is empty.
        with open(os.path.join(self.out, "btad_table.md"), encoding="utf-8") as f:
            table = f.read()
        self.assertRegex(table, r"\n\| 02 +\| \d\.\d{3} +\| \d\.\d{3} ")
        self.assertRegex(table, r"\n\| 01 +(\| +)+\|\n")
        self.assertIn("Empty rows, no figures: 01, 03 (no folder under ", table)

    def test_empty_tables_say_why(self):
        path = self.readme()
        r = self.tool(os.path.join(self.out, "mvtec_table.md"), "--empty", "btad", "no BTAD data here.",
                      "--readme", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, f"update_quality_tables: {path}: mvtec, btad replaced\n")
        with open(path, encoding="utf-8") as f:
            text = f.read()
        self.assertIn(uqt.begin_marker("btad") + "\n#### BTAD Dataset\n\nNo figures: no BTAD data here.\n\n"
                      "| Model   | Image AUROC | Image F1 |\n"
                      "| ------- | ----------- | -------- |\n"
                      "| 01      |             |          |\n"
                      "| 02      |             |          |\n"
                      "| 03      |             |          |\n"
                      "| Average |             |          |\n" + uqt.end_marker("btad"), text)
        self.assertIn("old visa text", text)  # not named: untouched

    def test_refusals_are_one_line_and_change_nothing(self):
        path = self.readme()
        with open(path, encoding="utf-8") as f:
            before = f.read()
        stray = os.path.join(self.tmp, "stray.md")
        with open(stray, "w", encoding="utf-8") as f:
            f.write("| a | b |\n")
        cases = [
            ([stray], f"update_quality_tables: {stray}: not a ganomaly_categories table (its first line, the marker, "
                      "is missing)\n"),
            ([self.tmp], f"update_quality_tables: {self.tmp}: no mvtec_table.md, btad_table.md or visa_table.md in "
                         "it (ganomaly_categories --out writes them)\n"),
            (["--empty", "kolektor", "x"], "update_quality_tables: --empty: expected mvtec, btad or visa, got "
                                           "'kolektor'\n"),
            ([self.out, "--empty", "btad", "x"], "update_quality_tables: --empty btad: "
                                                 f"{os.path.join(self.out, 'btad_table.md')} gives that table\n"),
            (["--empty", "btad", " "], "update_quality_tables: --empty btad: say why the table is empty\n"),
        ]
        for args, message in cases:
            r = self.tool(*args, "--readme", path)
            self.assertEqual((r.returncode, r.stderr), (2, message), args)
        no_markers = self.readme("# A project\n", name="NO_MARKERS.md")
        r = self.tool(self.out, "--readme", no_markers)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr.count("\n"), 1)
        self.assertIn("the README has no '<!-- quality-table:mvtec:begin", r.stderr)
        with open(path, encoding="utf-8") as f:
            self.assertEqual(f.read(), before)


if __name__ == "__main__":
    if len(sys.argv) < 2 or not os.path.isfile(os.path.join(sys.argv[1], "ganomaly_categories")):
        print("usage: test_update_quality_tables.py BUILD_DIR (with ganomaly_categories and ganomaly_make_data built)")
        sys.exit(2)
    BUILD = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
