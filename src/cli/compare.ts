// bun run compare runs/<a> runs/<b> ... [--labels a,b,...]: the runs' per-task accuracies side by side (markdown).
import { cac } from "cac";
import { comparisonTable, readComparedRun } from "../report/compare-runs.ts";
import { ReportError } from "../report/report-error.ts";

const cli = cac("compare");

cli
  .command("[...dirs]", "Print the per-task accuracies of run folders side by side, as a markdown table")
  .option("--labels <list>", "column names, comma-separated, one per folder (default: the folder names)")
  .example("bun run compare runs/2026-11-22-source-full runs/2026-11-22-tent-full runs/2026-11-22-dusa-full --labels source,tent,dusa")
  .action((dirs: string[], options: { labels?: string }) => {
    if (dirs.length === 0) {
      cli.outputHelp();
      process.exit(2);
    }
    const labels = options.labels === undefined ? [] : String(options.labels).split(",");
    if (options.labels !== undefined && labels.length !== dirs.length) {
      console.error(`compare: --labels names ${labels.length} columns for ${dirs.length} folders`);
      process.exit(2);
    }
    process.stdout.write(comparisonTable(dirs.map((d, i) => readComparedRun(d, labels[i]))));
  });

cli.help();

try {
  cli.parse(process.argv, { run: false });
  await cli.runMatchedCommand();
} catch (e) {
  if (!(e instanceof ReportError)) throw e;
  console.error(`compare: ${e.message}`);
  process.exit(1);
}
