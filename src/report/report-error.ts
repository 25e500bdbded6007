// Failures reading or writing a run folder; the message starts with the file or folder at fault.
export class ReportError extends Error {
  constructor(readonly path: string, readonly detail: string, options?: { cause?: unknown }) {
    super(`${path}: ${detail}`, options);
    this.name = "ReportError";
  }
}
