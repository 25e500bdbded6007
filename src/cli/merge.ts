// bun run merge runs/<dir> ... [--out runs/<merged>]: one report from the shard folders of a run (shard=i/n).
import { cac } from "cac";
import { ConfigError } from "../config/config-error.ts";
import { pct, signed } from "../report/format.ts";
import { mergeRuns } from "../report/merge-runs.ts";
import { ReportError } from "../report/report-error.ts";
import { resultMeans } from "../report/task-result.ts";

const cli = cac("merge");

cli
  .command("[...dirs]", "Combine run folders (the shards of one run) into one report")
  .option("--out <dir>", "the merged run folder (default: <date>-<name>-merged beside the first folder)")
  .example("bun run merge runs/2025-01-31-imagenet_c_convnext_l_dit-dusa-shard*")
  .action(async (dirs: string[], options: { out?: string }) => {
    if (dirs.length === 0) {
      cli.outputHelp();
      process.exit(2);
    }
    const { out, results, missing } = await mergeRuns(dirs, { out: options.out });
    const means = resultMeans(results);
    console.log(`merged ${dirs.length} folders into ${out.path}: ${results.length} tasks`);
    if (means) console.log(`mean accuracy ${pct(means.accuracy)}%${means.sourceAccuracy !== undefined ? ` (source ${pct(means.sourceAccuracy)}%, ${signed(means.gain)} pp)` : ""}`);
    if (missing.length) console.log(`missing ${missing.length} tasks: ${missing.join(", ")}`);
    console.log(`report: ${out.file("summary.md")}, ${out.file("accuracy.png")}`);
  });

cli.help();

try {
  cli.parse(process.argv, { run: false });
  await cli.runMatchedCommand();
} catch (e) {
  if (e instanceof ConfigError) console.error(`merge refused: the folders are not shards of one run:\n${e.message}`);
  else if (e instanceof ReportError) console.error(`merge refused: ${e.message}`);
  else throw e;
  process.exit(1);
}
