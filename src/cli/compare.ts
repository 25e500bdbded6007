// bun run compare runs/<a> runs/<b> ... [--labels a,b,...] [--by task|severity|corruption]: the runs' accuracies
// side by side (markdown), per task or as group means.
import { cac } from "cac";
import { comparisonTable, readComparedRun, type Grouping } from "../report/compare-runs.ts";
import { ReportError } from "../report/report-error.ts";

const cli = cac("compare");

cli
  .command("[...dirs]", "Print the per-task accuracies of run folders side by side, as a markdown table")
  .option("--labels <list>", "column names, comma-separated, one per folder (default: the folder names)")
  .option("--by <grouping>", "task (default) | severity | corruption: one row per task, or the mean of each group")
  .example("bun run compare runs/2026-11-22-source-full runs/2026-11-22-tent-full runs/2026-11-22-dusa-full --labels source,tent,dusa")
  .action((dirs: string[], options: { labels?: string; by?: string }) => {
    if (dirs.length === 0) {
      cli.outputHelp();
      process.exit(2);
    }
    const labels = options.labels === undefined ? [] : String(options.labels).split(",");
    if (options.labels !== undefined && labels.length !== dirs.length) {
      console.error(`compare: --labels names ${labels.length} columns for ${dirs.length} folders`);
      process.exit(2);
    }
    const by = (options.by ?? "task") as Grouping;
    if (!["task", "severity", "corruption"].includes(by)) {
      console.error(`compare: --by must be task, severity or corruption, got '${options.by}'`);
      process.exit(2);
    }
    process.stdout.write(comparisonTable(dirs.map((d, i) => readComparedRun(d, labels[i])), by));
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
