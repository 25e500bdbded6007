// Every checkpoint failure is a CheckpointError whose message starts with the file (or the step) at fault.
export class CheckpointError extends Error {
  readonly file: string;
  readonly detail: string; // the message without the file
  constructor(file: string, detail: string, options?: { cause?: unknown }) {
    super(`${file}: ${detail}`, options);
    this.name = "CheckpointError";
    this.file = file;
    this.detail = detail;
  }
}
