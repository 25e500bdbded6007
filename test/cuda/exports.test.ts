// Without a GPU too: the CUDA library, where it is built (CI builds it whenever nvcc is there), exports every
// function of dusa.h — a kernel file left out of the build or a signature that drifted from the header fails here,
// not first on a GPU machine.
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { libraryPath } from "../../src/native/build.ts";
import { openLibrary } from "../../src/native/library.ts";

const path = libraryPath("cuda");

test.skipIf(!existsSync(path))("the CUDA library exports the whole header", () => {
  expect([...openLibrary("cuda").missing]).toEqual([]);
});

if (!existsSync(path)) console.log(`cuda exports: skipped — ${path} is not built (no nvcc)`);
