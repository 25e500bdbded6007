import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { memorySource } from "../../src/io/mapped-file.ts";
import { isZip, readZipDirectory, zipEntryBytes } from "../../src/io/zip.ts";
import { checkpointError, fixture } from "./helpers.ts";

const src = memorySource;
const bytesOf = (name: string) => new Uint8Array(readFileSync(fixture(name)));

describe("zip directory", () => {
  test("torch.save archive: stored entries, 64-byte aligned data", () => {
    const bytes = bytesOf("raw_state_dict.pt");
    expect(isZip(bytes)).toBe(true);
    const entries = readZipDirectory(src("raw_state_dict.pt", bytes));
    expect([...entries.keys()]).toContain("raw_state_dict/data.pkl");
    expect([...entries.keys()]).toContain("raw_state_dict/version");
    for (const e of entries.values()) {
      expect(e.method).toBe(0);
      expect(e.dataOffset % 64).toBe(0);
    }
    expect(new TextDecoder().decode(zipEntryBytes(src("x", bytes), entries.get("raw_state_dict/version")!)).trim()).toBe("3");
  });

  test("zip64 and deflated rewrites of the same archive hold the same entries and bytes", () => {
    const plain = bytesOf("raw_state_dict.pt"), plainEntries = readZipDirectory(src("plain", plain));
    for (const variant of ["raw_state_dict_zip64.pt", "raw_state_dict_deflated.pt"]) {
      const bytes = bytesOf(variant), entries = readZipDirectory(src(variant, bytes));
      expect([...entries.keys()].sort()).toEqual([...plainEntries.keys()].sort());
      for (const [name, e] of plainEntries) expect(zipEntryBytes(src(variant, bytes), entries.get(name)!)).toEqual(zipEntryBytes(src("plain", plain), e));
    }
    expect([...readZipDirectory(src("d", bytesOf("raw_state_dict_deflated.pt"))).values()].some((e) => e.method === 8)).toBe(true);
  });

  test("every truncation is a CheckpointError naming the file", () => {
    for (const name of ["raw_state_dict.pt", "raw_state_dict_zip64.pt"]) {
      const bytes = bytesOf(name);
      for (let cut = 0; cut < bytes.length; cut += 7) {
        const e = checkpointError(() => readZipDirectory(src(name, bytes.subarray(0, cut))));
        expect(e.file).toBe(name);
        expect(e.message).toMatch(/truncated|corrupt zip/);
      }
    }
  });

  test("damaged archives", () => {
    const bytes = bytesOf("raw_state_dict.pt");
    const eocd = bytes.length - 22;
    const withCentralOffset = (offset: number) => {
      const copy = bytes.slice();
      new DataView(copy.buffer).setUint32(eocd + 16, offset, true);
      return copy;
    };
    expect(checkpointError(() => readZipDirectory(src("z", withCentralOffset(bytes.length - 10)))).message).toContain("truncated zip: the central directory needs bytes");
    expect(checkpointError(() => readZipDirectory(src("z", withCentralOffset(0)))).message).toContain("central directory entry 0 is damaged");
    const encrypted = bytes.slice();
    const central = new DataView(encrypted.buffer).getUint32(eocd + 16, true);
    encrypted[central + 8] |= 1;
    expect(checkpointError(() => readZipDirectory(src("z", encrypted))).message).toContain("is encrypted");
    const bzip2 = bytes.slice();
    bzip2[central + 10] = 12;
    expect(checkpointError(() => readZipDirectory(src("z", bzip2))).message).toContain("uses compression method 12");
    const badLocal = bytes.slice();
    badLocal[0] = 0;
    expect(checkpointError(() => readZipDirectory(src("z", badLocal))).message).toContain("bad local header for entry 'raw_state_dict/data.pkl'");
    expect(checkpointError(() => readZipDirectory(src("z", new Uint8Array(100)))).message).toContain("no end-of-central-directory record");
  });
});
