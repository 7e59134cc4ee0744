"""Checks a one-entry zip with Python's zipfile: testzip (every CRC), then reads the entry, comparing it with the
file given as second argument if any. Prints "<name as hex> <size> <crc32>" from the central directory and from
the bytes actually read."""
import sys
import zipfile
import zlib

path = sys.argv[1]
expected = sys.argv[2] if len(sys.argv) > 2 else None
with zipfile.ZipFile(path) as zf:
    infos = zf.infolist()
    assert len(infos) == 1, [i.filename for i in infos]
    info = infos[0]
    assert info.flag_bits & 0x808 == 0x808, hex(info.flag_bits)
    bad = zf.testzip()
    assert bad is None, f"bad entry {bad}"
    crc, size = 0, 0
    with zf.open(info) as f:
        if expected is not None:
            data = f.read()
            with open(expected, "rb") as e:
                assert data == e.read(), "content differs"
            crc, size = zlib.crc32(data), len(data)
        else:
            while chunk := f.read(1 << 20):
                crc, size = zlib.crc32(chunk, crc), size + len(chunk)
    assert (size, crc) == (info.file_size, info.CRC), (size, crc, info.file_size, info.CRC)
    print(info.filename.encode().hex(), size, crc)
