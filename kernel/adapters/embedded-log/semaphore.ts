/** A counting semaphore: at most `permits` holders at a time, served in arrival order. */
export class Semaphore {
  private readonly queue: Array<() => void> = [];

  constructor(private permits: number) {}

  async acquire(): Promise<() => void> {
    if (this.permits > 0) {
      this.permits--;
    } else {
      await new Promise<void>((resolve) => this.queue.push(resolve));
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.queue.shift();
      if (next) next();
      else this.permits++;
    };
  }
}
