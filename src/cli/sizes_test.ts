import assert from "node:assert/strict";
import { formatSize, parseSize, SIZE_TEXT_LENGTH_MAX } from "./sizes.ts";

const KIB = 1024;
const MIB = 1024 * KIB;
const GIB = 1024 * MIB;
const TIB = 1024 * GIB;

Deno.test("parseSize() reads plain bytes", () => {
  assert.equal(parseSize("0"), 0);
  assert.equal(parseSize("1048576"), MIB);
  assert.equal(parseSize("007"), 7);
});

Deno.test("parseSize() reads binary units, long and short, in any case", () => {
  const cases: [string, number][] = [
    ["512B", 512],
    ["512b", 512],
    ["4KiB", 4 * KIB],
    ["4kib", 4 * KIB],
    ["4K", 4 * KIB],
    ["4k", 4 * KIB],
    ["256MiB", 256 * MIB],
    ["256M", 256 * MIB],
    ["256m", 256 * MIB],
    ["2GiB", 2 * GIB],
    ["2G", 2 * GIB],
    ["2GIB", 2 * GIB],
    ["3TiB", 3 * TIB],
    ["3T", 3 * TIB],
    ["3tib", 3 * TIB],
  ];
  for (const [text, bytes] of cases) assert.equal(parseSize(text), bytes, text);
});

Deno.test("parseSize() reads decimal units in any case", () => {
  const cases: [string, number][] = [
    ["5KB", 5_000],
    ["5kb", 5_000],
    ["5MB", 5_000_000],
    ["5mB", 5_000_000],
    ["5GB", 5_000_000_000],
    ["5TB", 5_000_000_000_000],
  ];
  for (const [text, bytes] of cases) assert.equal(parseSize(text), bytes, text);
});

Deno.test("parseSize() accepts one space between number and unit", () => {
  assert.equal(parseSize("1 GiB"), GIB);
  assert.equal(parseSize("64 MB"), 64_000_000);
  assert.equal(parseSize("10 B"), 10);
});

Deno.test("parseSize() reads fractions exactly and rounds down to whole bytes", () => {
  assert.equal(parseSize("1.5GiB"), 1.5 * GIB);
  assert.equal(parseSize("1.5 GiB"), 1.5 * GIB);
  assert.equal(parseSize("0.5K"), 512);
  assert.equal(parseSize("1.005KB"), 1005, "floating point would give 1004");
  assert.equal(parseSize("4.35MB"), 4_350_000);
  assert.equal(parseSize("1.0009KiB"), 1024, "1024.9216 bytes round down");
  assert.equal(parseSize("1.5"), 1);
  assert.equal(parseSize("0.9B"), 0);
});

Deno.test("parseSize() accepts sizes up to Number.MAX_SAFE_INTEGER and refuses larger ones", () => {
  assert.equal(parseSize(String(Number.MAX_SAFE_INTEGER)), Number.MAX_SAFE_INTEGER);
  assert.throws(() => parseSize(String(Number.MAX_SAFE_INTEGER + 1)), RangeError);
  assert.equal(parseSize("8191TiB"), 8191 * TIB);
  assert.throws(() => parseSize("8192TiB"), /larger than 9007199254740991 bytes/);
  assert.throws(() => parseSize("99999999999999999999TB"), RangeError);
});

Deno.test("parseSize() rejects malformed text with a one-line RangeError", () => {
  const rejected = [
    "",
    " ",
    "-1",
    "-1GiB",
    "+1",
    "GiB",
    ".5G",
    "1.",
    "1.G",
    "1..5G",
    "1,5G",
    "1e9",
    "NaN",
    "Infinity",
    "0x10",
    " 1G",
    "1G ",
    "1  G",
    "1\tG",
    "1 G B",
    "1_000",
    "1G1",
    "１G",
  ];
  for (const text of rejected) {
    assert.throws(
      () => parseSize(text),
      (error: unknown) => error instanceof RangeError && !error.message.includes("\n"),
      JSON.stringify(text),
    );
  }
});

Deno.test("parseSize() names an unknown unit and lists the known ones", () => {
  for (const text of ["5PiB", "5PB", "5 bytes", "5Gi", "5ib", "5KIBS"]) {
    assert.throws(() => parseSize(text), /unknown unit .*use B, KiB/, text);
  }
});

Deno.test("parseSize() refuses text longer than its limit before parsing", () => {
  const long = "1".padStart(SIZE_TEXT_LENGTH_MAX + 1, "0");
  assert.throws(() => parseSize(long), /longer than 64 characters/);
  assert.equal(parseSize("1".padStart(SIZE_TEXT_LENGTH_MAX, "0")), 1);
});

Deno.test("formatSize() prints bytes below 1 KiB as whole bytes", () => {
  assert.equal(formatSize(0), "0 B");
  assert.equal(formatSize(512), "512 B");
  assert.equal(formatSize(1023), "1023 B");
});

Deno.test("formatSize() prints one decimal in the largest binary unit", () => {
  assert.equal(formatSize(1024), "1.0 KiB");
  assert.equal(formatSize(1536), "1.5 KiB");
  assert.equal(formatSize(256 * MIB), "256.0 MiB");
  assert.equal(formatSize(1.5 * GIB), "1.5 GiB");
  assert.equal(formatSize(2 * TIB), "2.0 TiB");
  assert.equal(formatSize(Number.MAX_SAFE_INTEGER), "8.0 PiB");
});

Deno.test("formatSize() moves to the next unit when rounding would print 1024", () => {
  assert.equal(formatSize(MIB - 1), "1.0 MiB");
  assert.equal(formatSize(GIB - 1), "1.0 GiB");
  assert.equal(formatSize(1023 * KIB), "1023.0 KiB");
});

Deno.test("formatSize() and parseSize() round-trip whole units", () => {
  for (const bytes of [KIB, 3 * MIB, 1.5 * GIB, 7 * TIB]) {
    assert.equal(parseSize(formatSize(bytes)), bytes);
  }
});

Deno.test("formatSize() rejects negative, fractional and unsafe numbers", () => {
  for (const bytes of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER + 1]) {
    assert.throws(() => formatSize(bytes), RangeError, String(bytes));
  }
});
