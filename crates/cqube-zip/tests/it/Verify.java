// Reads a one-entry zip the way Java streaming consumers do (java.util.zip.ZipInputStream, data descriptor and all)
// and prints "<name as hex> <bytes read> <crc32 of bytes read>". ZipInputStream itself throws if the data
// descriptor's sizes or CRC disagree with what it inflated.
import java.io.BufferedInputStream;
import java.io.FileInputStream;
import java.util.HexFormat;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

public class Verify {
    public static void main(String[] args) throws Exception {
        try (ZipInputStream zip = new ZipInputStream(new BufferedInputStream(new FileInputStream(args[0]), 1 << 16))) {
            ZipEntry entry = zip.getNextEntry();
            if (entry == null) {
                throw new IllegalStateException("no entry");
            }
            byte[] buf = new byte[1 << 16];
            CRC32 crc = new CRC32();
            long total = 0;
            for (int n; (n = zip.read(buf)) > 0; ) {
                crc.update(buf, 0, n);
                total += n;
            }
            if (entry.getSize() != total || entry.getCrc() != crc.getValue()) {
                throw new IllegalStateException("descriptor says " + entry.getSize() + "/" + entry.getCrc());
            }
            if (zip.getNextEntry() != null) {
                throw new IllegalStateException("more than one entry");
            }
            String name = HexFormat.of().formatHex(entry.getName().getBytes("UTF-8"));
            System.out.println(name + " " + total + " " + crc.getValue());
        }
    }
}
