// The training progress line: images/s, loss, lr, and the ETA of the epoch and of the run.
import { expect, test } from "bun:test";
import { TrainProgress } from "../../src/pretrain/progress.ts";

test("speed and ETAs from the steps since start; a line per epoch; off a terminal, a line per interval", () => {
  let now = 0;
  const lines: string[] = [];
  const p = new TrainProgress("classifier", 2, 20, { out: { write: (s: string) => lines.push(s) }, tty: false, everySeconds: 5, now: () => now });
  p.start(4, 10); // resumed at step 4
  now = 2000; // 2 steps of 64 images in 2 s
  expect(p.line(0, 6, 6, 64, 0.51234, 2e-3)).toBe("classifier epoch 1/2  6/10  64.0 img/s  loss 0.5123  lr 2.00e-3  ETA 0:04 (run 0:14)");
  p.update(0, 6, 6, 64, 0.5, 2e-3);
  now = 3000;
  p.update(0, 7, 7, 64, 0.5, 2e-3); // within the interval: not printed
  p.endEpoch({ epoch: 0, loss: 0.5, imagesPerSec: 64, seconds: 10 });
  expect(lines).toHaveLength(2);
  expect(lines[1]).toBe("classifier epoch 1/2  loss 0.5000  64.0 img/s  0:10\n");
});
