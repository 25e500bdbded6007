// Run folders and reports: results, metrics, summary, chart, profile, progress, interrupts, merging shards.
export { accuracyPng, accuracySvg, CHART_SCALE, type ChartInfo } from "./accuracy-chart.ts";
export { writeFileAtomic } from "./atomic-write.ts";
export { INTERRUPTED_EXIT_CODE, letSignalsIn, onInterrupt, resumeHint, type Interrupt, type InterruptOptions } from "./interrupt.ts";
export { mergeRuns, type MergeOptions, type MergeReport } from "./merge-runs.ts";
export { readJsonLines, type StepMetrics } from "./metrics.ts";
export { mergeProfiles, PhaseClock, PHASES, profileJson, type Phase, type PhaseTime, type Profile } from "./profile.ts";
export { Progress, type ProgressOptions, type ProgressSink } from "./progress.ts";
export { ReportError } from "./report-error.ts";
export { resultsCsv } from "./results-csv.ts";
export { orderResults, readResults, RESULTS_CSV, RESULTS_JSON, writeResults } from "./results-file.ts";
export { RUN_FILES, RunDir, type ResumePlan } from "./run-dir.ts";
export { localDate, runFolderStem } from "./run-folder-name.ts";
export { summaryMarkdown, type SummaryInfo } from "./summary.ts";
export { resultMeans, sameOutcome, taskResult, type ResultMeans, type TaskResult } from "./task-result.ts";
