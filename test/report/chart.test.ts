// accuracy.png renders: size, not blank, both series drawn.
import { describe, expect, test } from "bun:test";
import sharp from "sharp";
import { loadConfig } from "../../src/config/index.ts";
import { accuracyPng, accuracySvg, CHART_SCALE } from "../../src/report/index.ts";
import { fakeResults } from "./results-fixture.ts";

const results = fakeResults(loadConfig([]).config);

async function pixels(png: Buffer) {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  let blue = 0, grey = 0, dark = 0;
  for (let i = 0; i < data.length; i += 3) {
    const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
    if (b > 150 && r < 80 && g > 80 && g < 130) blue++; // the method's bars
    if (Math.abs(r - 160) < 12 && Math.abs(g - 174) < 12 && Math.abs(b - 192) < 12) grey++; // the source's bars
    if (r < 80 && g < 80 && b < 80) dark++; // text and axes
  }
  return { info, blue, grey, dark, total: data.length / 3 };
}

describe("accuracy.png", () => {
  test("15 tasks with source: 2x size, both bar series, text", async () => {
    const png = await accuracyPng(results, { name: "fmnist-dusa", method: "dusa" });
    const meta = await sharp(png).metadata();
    expect(meta.format).toBe("png");
    const svgWidth = Number(/width="(\d+)"/.exec(accuracySvg(results, { name: "fmnist-dusa", method: "dusa" }))![1]);
    expect(meta.width).toBe(svgWidth * CHART_SCALE);
    expect(meta.height).toBe(586 * CHART_SCALE);
    const p = await pixels(png);
    expect(p.blue / p.total).toBeGreaterThan(0.03);
    expect(p.grey / p.total).toBeGreaterThan(0.03);
    expect(p.dark / p.total).toBeGreaterThan(0.005);
  });

  test("without source accuracies: one series, no source legend", async () => {
    const plain = results.map(({ sourceAccuracy, ...r }) => r);
    const svg = accuracySvg(plain, { name: "x", method: "tent" });
    expect(svg).not.toContain(">source<");
    expect(svg).toContain(">tent<");
    const p = await pixels(await accuracyPng(plain, { name: "x", method: "tent" }));
    expect(p.grey / p.total).toBeLessThan(0.001); // anti-aliased edges only
    expect(p.blue).toBeGreaterThan(0);
  });

  test("labels, axes, means in the SVG; names are escaped; many tasks get narrower slots", () => {
    const svg = accuracySvg(results, { name: "a<b>&c", method: "dusa" });
    expect(svg).toContain("a&lt;b&gt;&amp;c: accuracy per task");
    expect(svg).toContain(">accuracy (%)<");
    expect(svg).toContain(">corruption (severity 5)<");
    expect(svg).toContain(">gaussian_noise<");
    expect(svg).toMatch(/>dusa \d+\.\d</);
    expect(svg).toMatch(/>source \d+\.\d</);
    const many = fakeResults(loadConfig(["data.severities=[1,2,3,4,5]"]).config);
    const wide = accuracySvg(many, { name: "x", method: "dusa" });
    expect(wide).toContain(">gaussian_noise-1<");
    expect(wide).toContain(">task (corruption-severity)<");
    expect(Number(/width="(\d+)"/.exec(wide)![1])).toBeLessThan(75 * 40);
    expect(accuracySvg([], { name: "x", method: "dusa" })).toContain("no results yet");
  });
});
