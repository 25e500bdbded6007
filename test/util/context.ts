// One CPU context per test file (the library is built on first use).
import { afterAll } from "bun:test";
import { Context } from "../../src/native/index.ts";

let shared: Context | null = null;

export function cpuContext(): Context {
  if (!shared) {
    shared = Context.create("cpu");
    afterAll(() => {
      shared?.destroy();
      shared = null;
    });
  }
  return shared;
}
