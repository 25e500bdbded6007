// Progress output with and without a terminal; the Ctrl-C helper.
import { describe, expect, test } from "bun:test";
import { INTERRUPTED_EXIT_CODE, onInterrupt, Progress, resumeHint, taskResult } from "../../src/report/index.ts";

function sink(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, out: { isTTY, columns: 200, write: (s: string) => chunks.push(s) } };
}

const result = (task: string, n: number, correct: number, seconds: number) => taskResult({ task, corruption: task, severity: 5, n, correct, badSteps: 0, seconds, sourceAccuracy: 50 });

describe("Progress", () => {
  test("without a terminal: one line per finished task, nothing in between", () => {
    const { chunks, out } = sink(false);
    const p = new Progress({ out, totalTasks: 2 });
    expect(p.tty).toBe(false);
    p.startTask("fog-5", 100);
    p.update(50, 30);
    p.update(100, 61);
    p.endTask(result("fog-5", 100, 61, 2));
    p.startTask("snow-5", 100);
    p.endTask(result("snow-5", 100, 40, 4));
    expect(chunks).toEqual([
      "[1/2] fog-5  n 100  acc 61.0% (source 50.0%, +11.0)  50.0 img/s  0:02\n",
      "[2/2] snow-5  n 100  acc 40.0% (source 50.0%, −10.0)  25.0 img/s  0:04\n",
    ]);
  });

  test("on a terminal: a live line with images/s, running accuracy and ETA, redrawn in place", () => {
    const { chunks, out } = sink(true);
    let now = 0;
    const p = new Progress({ out, totalTasks: 3, now: () => now, redrawMs: 100 });
    p.startTask("fog-5", 1000);
    now = 2000;
    p.update(200, 150);
    expect(p.statusLine()).toBe("[1/3] fog-5  200/1000  100 img/s  acc 75.0%  ETA 0:08 (run 0:28)");
    expect(chunks.at(-1)).toBe("\r\x1b[K[1/3] fog-5  200/1000  100 img/s  acc 75.0%  ETA 0:08 (run 0:28)");
    const drawn = chunks.length;
    now = 2050;
    p.update(210, 157); // within redrawMs: not redrawn
    expect(chunks.length).toBe(drawn);
    p.log("a warning");
    expect(chunks.at(-2)).toBe("\r\x1b[Ka warning\n");
    now = 10000;
    p.update(1000, 700);
    p.endTask(result("fog-5", 1000, 700, 10));
    expect(chunks.at(-1)).toStartWith("\r\x1b[K[1/3] fog-5  n 1000  acc 70.0%");
    expect(chunks.at(-1)).toEndWith("\n");
    p.startTask("snow-5", 1000);
    now = 12000;
    p.update(100, 50);
    expect(p.eta()).toEqual({ task: 18, run: 18 + 1000 / 100 });
    p.close();
    expect(chunks.at(-1)).toBe("\n");
  });
});

describe("onInterrupt", () => {
  test("first signal sets the flag and calls back; the second exits at once; dispose unhooks", () => {
    const logs: string[] = [], exits: number[] = [], calls: string[] = [];
    const interrupt = onInterrupt((s) => calls.push(s), { signals: ["SIGUSR2"], log: (m) => logs.push(m), exit: (c) => exits.push(c) });
    expect(interrupt.requested).toBe(false);
    process.emit("SIGUSR2", "SIGUSR2");
    expect(interrupt.requested).toBe(true);
    expect(calls).toEqual(["SIGUSR2"]);
    expect(logs[0]).toContain("finishing the current step");
    expect(exits).toEqual([]);
    process.emit("SIGUSR2", "SIGUSR2");
    expect(exits).toEqual([INTERRUPTED_EXIT_CODE]);
    interrupt.dispose();
    expect(process.listenerCount("SIGUSR2")).toBe(0);
    expect(resumeHint("runs/x")).toBe("interrupted; to continue: bun run tta resume=runs/x");
  });
});
