import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { loadCheckpoint, matchStateDict } from "../../src/io/checkpoint.ts";
import { checkpointError, fixture } from "./helpers.ts";

// The tiny SiT's parameter table (written by make_checkpoints.py from the module), with and without REPA projectors.
const sitShapes = new Map(Object.entries(JSON.parse(readFileSync(fixture("tiny_sit_shapes.json"), "utf8")) as Record<string, number[]>));
const withoutProjectors = new Map([...sitShapes].filter(([name]) => !name.startsWith("projectors.")));
const ema = () => loadCheckpoint(fixture("train_checkpoint.pt")).tensors;
const shapes = (entries: [string, number[]][]) => new Map(entries);
const tensors = (entries: [string, number[]][]) => new Map(entries.map(([name, shape]) => [name, { shape }]));

describe("matchStateDict", () => {
  test("an exact match loads every key", () => {
    const report = matchStateDict(sitShapes, ema());
    expect(report.loaded).toEqual([...sitShapes.keys()]);
    expect(report.missing.length + report.unexpected.length + report.misshaped.length).toBe(0);
  });

  test("REPA projectors in the checkpoint fail loading unless allowed by name", () => {
    const e = checkpointError(() => matchStateDict(withoutProjectors, ema(), { file: "last.pt" }));
    expect(e.file).toBe("last.pt");
    expect(e.message).toContain("does not match the model: 6 unexpected");
    expect(e.message).toContain("  unexpected  projectors.0.0.weight [8, 4]");
    expect(e.message).toContain("  unexpected  projectors.0.4.bias [5]");
    const report = matchStateDict(withoutProjectors, ema(), { allowUnexpected: ["projectors"] });
    expect(report.allowedUnexpected).toEqual(["projectors.0.0.weight", "projectors.0.0.bias", "projectors.0.2.weight", "projectors.0.2.bias", "projectors.0.4.weight", "projectors.0.4.bias"]);
    expect(report.unexpected).toEqual([]);
    expect(matchStateDict(withoutProjectors, ema(), { allowUnexpected: [/^projectors\.\d+\./] }).allowedUnexpected.length).toBe(6);
  });

  test("every missing, unexpected and mis-shaped key is listed by name with shapes", () => {
    const expected = shapes([["stem.weight", [2, 1, 2, 2]], ["head.weight", [3, 8]], ["head.bias", [3]], ["norm.weight", [8]]]);
    const got = tensors([["stem.weight", [2, 3, 2, 2]], ["norm.weight", [8]], ["extra.weight", [4]]]);
    const message = checkpointError(() => matchStateDict(expected, got, { file: "ckpt.safetensors" })).message;
    expect(message.split("\n")).toEqual([
      "ckpt.safetensors: does not match the model: 2 missing, 1 unexpected, 1 mis-shaped (1 of 4 model keys match)",
      "  missing     head.weight [3, 8]",
      "  missing     head.bias [3]",
      "  unexpected  extra.weight [4]",
      "  mis-shaped  stem.weight: model [2, 1, 2, 2], checkpoint [2, 3, 2, 2]",
    ]);
  });

  test("allowed missing keys are reported, not fatal; mis-shaped keys are never allowed", () => {
    const expected = shapes([["a.weight", [2]], ["head.fc.weight", [3, 2]], ["head.fc.bias", [3]]]);
    const report = matchStateDict(expected, tensors([["a.weight", [2]]]), { allowMissing: ["head.fc"] });
    expect(report.allowedMissing).toEqual(["head.fc.weight", "head.fc.bias"]);
    expect(report.loaded).toEqual(["a.weight"]);
    const misshaped = checkpointError(() => matchStateDict(expected, tensors([["a.weight", [3]]]), { allowMissing: ["head", "a"], allowUnexpected: ["a"] }));
    expect(misshaped.message).toContain("mis-shaped  a.weight: model [2], checkpoint [3]");
  });

  test("a string pattern matches a key or a module prefix, not a partial name", () => {
    const expected = shapes([["blocks.1.weight", [1]], ["blocks.10.weight", [1]]]);
    const e = checkpointError(() => matchStateDict(expected, tensors([]), { allowMissing: ["blocks.1"] }));
    expect(e.message).toContain("missing     blocks.10.weight");
    expect(e.message).not.toContain("missing     blocks.1.weight");
  });

  test("a wrapped checkpoint loaded without unwrapping matches nothing, with a hint", () => {
    const raw = loadCheckpoint(fixture("train_checkpoint.pt"), { unwrap: false }).tensors;
    const message = checkpointError(() => matchStateDict(sitShapes, raw)).message;
    expect(message).toContain(`(0 of ${sitShapes.size} model keys match)`);
    expect(message).toContain("no key matches: is the checkpoint wrapped, prefixed, or in another naming?");
    expect(message).toContain("unexpected  ema.pos_embed [1, 4, 4]");
  });
});
