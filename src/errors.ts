/**
 * A problem with what the user gave us (bad flag, malformed file, wrong shape): printed as
 * `file:line: message` without a stack trace, exit code 2.
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly file?: string,
    readonly line?: number,
  ) {
    super(message);
    this.name = 'UserError';
  }

  /** `file:line: message`, or just the message when there is no location. */
  format(): string {
    if (!this.file) return this.message;
    return this.line ? `${this.file}:${this.line}: ${this.message}` : `${this.file}: ${this.message}`;
  }
}

export const EXIT_OK = 0;
export const EXIT_FINDINGS = 1;
export const EXIT_USAGE = 2;
