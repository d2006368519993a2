// Runs the latest of a stream of inputs after a pause (debounce) and drops answers that a newer
// input has made stale. Pure: the quick pick feeds it keystrokes.

export class LatestOnly<I, R> {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private generation = 0;
  private disposed = false;

  constructor(
    private readonly delayMs: number,
    private readonly run: (input: I) => Promise<R>,
    private readonly onResult: (result: R, input: I) => void,
    private readonly onError: (error: unknown, input: I) => void = () => {},
    private readonly onBusy: (busy: boolean) => void = () => {},
  ) {}

  /** A new input: any pending or running one becomes stale. */
  push(input: I): void {
    if (this.disposed) return;
    const gen = ++this.generation;
    if (this.timer) clearTimeout(this.timer);
    this.onBusy(true);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.start(input, gen);
    }, this.delayMs);
  }

  /** Runs `input` now (e.g. the user pressed Enter); resolves when it is answered or stale. */
  async now(input: I): Promise<void> {
    if (this.disposed) return;
    const gen = ++this.generation;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.onBusy(true);
    await this.start(input, gen);
  }

  /** Drops the pending input and any answer on its way (e.g. the input was cleared). */
  cancel(): void {
    this.generation++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.onBusy(false);
  }

  /** Stops the pending input and ignores answers still on their way. */
  dispose(): void {
    this.disposed = true;
    this.generation++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async start(input: I, gen: number): Promise<void> {
    let result: R;
    try {
      result = await this.run(input);
    } catch (e) {
      if (gen === this.generation && !this.disposed) {
        this.onBusy(false);
        this.onError(e, input);
      }
      return;
    }
    if (gen !== this.generation || this.disposed) return;
    this.onBusy(false);
    this.onResult(result, input);
  }
}
