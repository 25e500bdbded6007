// summary.md and results.csv content.
import { describe, expect, test } from "bun:test";
import { loadConfig } from "../../src/config/index.ts";
import { resultMeans, resultsCsv, summaryMarkdown, taskResult } from "../../src/report/index.ts";
import { fakeResults } from "./results-fixture.ts";

const config = loadConfig(["data.corruptions=[fog, snow]", "data.severities=[3, 5]", "data.limit=200"]).config;
const results = fakeResults(config);

describe("results.csv", () => {
  test("a header and one row per task; unknown values are empty cells", () => {
    const r = taskResult({ task: "fog-5", corruption: "fog", severity: 5, n: 8, correct: 6, badSteps: 1, seconds: 2 });
    expect(resultsCsv([r])).toBe("task,corruption,severity,n,correct,accuracy,error,source_accuracy,loss,bad_steps,seconds,images_per_sec\nfog-5,fog,5,8,6,75.0000,25.0000,,,1,2.000,4.00\n");
    const full = resultsCsv([{ ...r, sourceAccuracy: 62.5, loss: 0.123456789 }]).split("\n")[1];
    expect(full).toBe("fog-5,fog,5,8,6,75.0000,25.0000,62.5000,0.123457,1,2.000,4.00");
  });

  test("cells with commas are quoted", () => {
    const r = taskResult({ task: 'a,"b"', corruption: "a", severity: 0, n: 1, correct: 1, badSteps: 0, seconds: 1 });
    expect(resultsCsv([r]).split("\n")[1]).toStartWith('"a,""b""",a,0,');
  });
});

describe("means", () => {
  test("mean of per-task accuracies; source and gain over tasks that have one", () => {
    const rs = [
      taskResult({ task: "a", corruption: "a", severity: 5, n: 100, correct: 50, badSteps: 0, seconds: 1, sourceAccuracy: 40 }),
      taskResult({ task: "b", corruption: "b", severity: 5, n: 300, correct: 240, badSteps: 0, seconds: 3 }),
    ];
    const m = resultMeans(rs)!;
    expect(m.accuracy).toBe(65);
    expect(m.error).toBe(35);
    expect(m.sourceAccuracy).toBe(40);
    expect(m.gain).toBe(10);
    expect(m.sourceTasks).toBe(1);
    expect(m.images).toBe(400);
    expect(m.imagesPerSec).toBe(100);
    expect(resultMeans([])).toBeUndefined();
  });
});

describe("summary.md", () => {
  const text = summaryMarkdown(results, { name: "2025-01-31-fmnist-dusa", config, expectedTasks: [...results.map((r) => r.task), "frost-5"] });

  test("title, what ran, headline means", () => {
    const m = resultMeans(results)!;
    expect(text).toStartWith("# 2025-01-31-fmnist-dusa\n\n**dusa (adapt all + generative, sit t 0.25, topk 4 + 2)** on convnext-tiny-fm + sit-tiny-fm (vae-tiny-fm); fmnist-c, severities 3, 5, 200 images per task; episodic, batch 64, adam lr 1e-4, seed 0.");
    expect(text).toContain(`Mean accuracy **${m.accuracy.toFixed(1)}%** vs source ${m.sourceAccuracy!.toFixed(1)}% (+${m.gain!.toFixed(1)} pp); mean error ${m.error.toFixed(1)}%. 4 tasks, 800 images`);
  });

  test("per-task table with source beside the method, and the mean row", () => {
    expect(text).toContain("| task | n | source % | dusa % | Δ pp | error % | loss | img/s |");
    const r = results[1];
    expect(text).toContain(`| ${r.task} | 200 | ${r.sourceAccuracy!.toFixed(1)} | ${r.accuracy.toFixed(1)} | +${(r.accuracy - r.sourceAccuracy!).toFixed(1)} | ${r.error.toFixed(1)} | ${r.loss!.toPrecision(4)} | 133 |`);
    expect(text).toMatch(/\| \*\*mean\*\* \(4\) \| 800 \| [\d.]+ \| \*\*[\d.]+\*\* \| \+[\d.]+ \|/);
  });

  test("per-severity means, missing tasks, non-finite losses", () => {
    expect(text).toContain("## Per severity");
    expect(text).toMatch(/\| 3 \| 2 \| [\d.]+ \| [\d.]+ \| \+[\d.]+ \|/);
    expect(text).toContain("**Missing:** 1 of 5 tasks have no result: frost-5.");
    const bad = summaryMarkdown([{ ...results[0], badSteps: 3 }], { name: "x" });
    expect(bad).toContain("**Non-finite losses:** fog-3 (3 steps).");
    expect(bad).toContain("| task | n | source % | method % |");
  });

  test("no results yet; no source accuracy", () => {
    expect(summaryMarkdown([], { name: "x" })).toContain("No task has finished yet.");
    const noSource = summaryMarkdown(results.map(({ sourceAccuracy, ...r }) => r), { name: "x" });
    // no source column (nor Δ) when the unadapted model was not scored, as for method=source itself
    expect(noSource).toContain("| task | n | method % | error % | loss | img/s |");
    expect(noSource).toContain("| fog-3 | 200 | 54.5 | 45.5 |");
    expect(noSource).not.toContain("vs source");
  });
});
