#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (fuzz/corpus/<target>/) from tests/fixtures, so no copies are committed.

Seeds are small (the start of each fixture CSV), plus the awkward encodings and line ends the reader must handle.
"""
import json
import pathlib
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent
FIXTURES = ROOT.parent / "tests" / "fixtures" / "cqube" / "mock_emission"
CORPUS = ROOT / "corpus"
# The sources fuzz_targets/convert.rs picks from with its first byte.
CONVERT_SOURCES = ["block_master", "student_attendance", "school_master", "diksha_tpd"]


def seed(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def head(csv, limit=4096):
    """The first lines of a CSV, up to about `limit` bytes, cut at a line end."""
    cut = csv[:limit]
    return cut[: cut.rfind(b"\n") + 1] if b"\n" in cut else cut


def main():
    for path in sorted(FIXTURES.rglob("*.zip")):
        stem = path.stem
        with zipfile.ZipFile(path) as z:
            csv = head(z.read(z.namelist()[0]))
        text = csv.decode("utf-8", "replace")
        as_comma = csv.replace(b"|", b",")
        seed("sniff", stem, csv)
        seed("sniff", stem + "-cr", csv.replace(b"\n", b"\r"))
        seed("sniff", stem + "-utf16", b"\xff\xfe" + text.encode("utf-16-le"))
        seed("sniff", stem + "-1252", text.encode("cp1252", "replace"))
        for i, source in enumerate(CONVERT_SOURCES):
            if source.startswith(stem.split("_mst")[0]) or stem.startswith(source):
                seed("convert", stem, bytes([i]) + as_comma)
                seed("convert", stem + "-cr", bytes([i]) + as_comma.replace(b"\n", b"\r"))
        header = csv.split(b"\n")[0].replace(b"|", b",")
        seed("header", stem, bytes([len(stem)]) + header + b"\nfoo=" + header.split(b",")[0] + b"\n")
        cells = {c for line in csv.split(b"\n")[1:20] for c in line.split(b"|")}
        for j, cell in enumerate(sorted(cells)[:40]):
            seed("value", f"{stem}-{j}", bytes([j]) + cell)
        if path.stat().st_size <= 64 * 1024:
            seed("zip_check", stem, path.read_bytes())
    lines = [
        {"type": "job", "job": "0123456789abcdef", "spec": {"inputs": ["x.zip"]}},
        {"type": "upload", "item": "a", "identity": "x.zip:10:1", "upload_id": "u1", "key": "k"},
        {"type": "part", "item": "a", "upload_id": "u1", "part_number": 1, "etag": "\"e\"", "size": 5, "checksum": 7},
        {"type": "aborted", "item": "a", "upload_id": "u1"},
        {"type": "upload", "item": "a", "identity": "x.zip:10:1", "upload_id": "u2", "key": "k"},
        {"type": "part", "item": "a", "upload_id": "u2", "part_number": 1, "etag": "\"f\"", "size": 5, "checksum": 8},
    ]
    seed("journal", "journal", "".join(json.dumps(l) + "\n" for l in lines).encode())
    seed("journal", "torn", (json.dumps(lines[0]) + "\n" + json.dumps(lines[1])[:30]).encode())


if __name__ == "__main__":
    main()
