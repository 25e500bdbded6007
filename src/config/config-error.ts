// Every configuration failure is a ConfigError: one or more issues, each naming the full dotted key (or the file)
// at fault, what is allowed there, and where the offending value came from.
export interface ConfigIssue {
  path: string; // dotted key, e.g. "method.topk"; a file path when the file itself is at fault
  problem: string; // e.g. "0 is out of range"
  allowed?: string; // e.g. "an integer >= 1"
  source?: string; // the file or "command line" that set the value
}

const origin = (source: string) => (source === "command line" ? " (set on the command line)" : ` (set in ${source})`);

export const formatIssue = (i: ConfigIssue): string => `${i.path}: ${i.problem}${i.allowed ? `; expected ${i.allowed}` : ""}${i.source ? origin(i.source) : ""}`;

export class ConfigError extends Error {
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue | ConfigIssue[]) {
    const list = Array.isArray(issues) ? issues : [issues];
    super(list.length === 1 ? formatIssue(list[0]) : `${list.length} configuration problems:\n${list.map((i) => `  ${formatIssue(i)}`).join("\n")}`);
    this.name = "ConfigError";
    this.issues = list;
  }

  /** The dotted path of the first issue. */
  get path(): string {
    return this.issues[0].path;
  }
}
