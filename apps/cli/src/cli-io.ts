/** Exit codes of every command: 0 ok, 1 failure, 2 usage error. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export interface Output {
  out(line: string): void;
  err(line: string): void;
}

export const stdio: Output = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/**
 * A progress bar on a terminal (redrawn in place on stderr), or a line every 10% when stderr is not a TTY
 * (CI logs stay readable).
 */
export class ProgressBar {
  private lastPercent = -1;
  private lastDraw = 0;
  constructor(
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  update(done: number, total: number, detail = ""): void {
    const percent = total > 0 ? Math.min(100, Math.floor((done / total) * 100)) : 0;
    if (this.stream.isTTY) {
      const now = Date.now();
      if (now - this.lastDraw < 80 && percent !== 100) return;
      this.lastDraw = now;
      const width = 30;
      const filled = Math.round((percent / 100) * width);
      this.stream.write(
        `\r${this.label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${String(percent).padStart(3)}% ${detail}`,
      );
    } else if (Math.floor(percent / 10) !== Math.floor(this.lastPercent / 10)) {
      this.stream.write(`${this.label} ${percent}% ${detail}\n`);
    }
    this.lastPercent = percent;
  }

  finish(): void {
    if (this.stream.isTTY) this.stream.write("\n");
  }
}
