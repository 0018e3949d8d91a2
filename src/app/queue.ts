// One review at a time per pull request, a few at a time overall. A newer push replaces the
// job waiting for its pull request and tells the running one to stop.

export interface Job {
  /** `owner/repo#number`. */
  key: string;
  sha: string;
  /** When the event happened (ms); an older push never replaces a newer one. */
  order: number;
  /** Set when a newer commit replaced this job while it ran. */
  supersededBy?: string;
}

interface Slot<J extends Job> {
  running?: J;
  pending?: J;
}

export interface QueueHooks<J extends Job> {
  run: (job: J) => Promise<void>;
  /** A job that will not run: a newer commit replaced it before it started. */
  dropped: (job: J, by: string) => Promise<void>;
  onError: (job: J, error: unknown) => void;
}

export class ReviewQueue<J extends Job> {
  private readonly slots = new Map<string, Slot<J>>();
  private readonly waiting: string[] = [];
  private active = 0;
  private readonly inflight = new Set<Promise<unknown>>();

  constructor(
    private readonly hooks: QueueHooks<J>,
    private readonly concurrency = 2,
    /** Pull requests with work waiting, at most; more are refused rather than held in memory. */
    private readonly maxKeys = 1_000,
  ) {}

  /** Adds a job; says what became of it. Returns at once: the work happens later. */
  enqueue(job: J): "queued" | "duplicate" | "stale" | "full" {
    let slot = this.slots.get(job.key);
    if (!slot) {
      if (this.slots.size >= this.maxKeys) return "full";
      slot = {};
      this.slots.set(job.key, slot);
    }
    const { running, pending } = slot;
    if ((running && running.sha === job.sha && !running.supersededBy) || pending?.sha === job.sha) {
      return "duplicate";
    }
    const newest = pending ?? running;
    if (newest && job.order < newest.order) {
      this.track(this.hooks.dropped(job, newest.sha));
      return "stale";
    }
    if (pending) this.track(this.hooks.dropped(pending, job.sha));
    if (running && !running.supersededBy) running.supersededBy = job.sha;
    slot.pending = job;
    if (!running && !pending) this.waiting.push(job.key);
    this.pump();
    return "queued";
  }

  /** Resolves when no job is queued or running (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  /** Runs work outside the queue (a webhook's follow-up lookups) so that `idle` waits for it. */
  track(p: Promise<unknown>): void {
    const tracked = p.catch(() => undefined).finally(() => this.inflight.delete(tracked));
    this.inflight.add(tracked);
  }

  private pump(): void {
    while (this.active < this.concurrency && this.waiting.length > 0) {
      const key = this.waiting.shift()!;
      const slot = this.slots.get(key);
      if (!slot?.pending || slot.running) continue;
      const job = slot.pending;
      slot.pending = undefined;
      slot.running = job;
      this.active++;
      this.track(
        this.hooks
          .run(job)
          .catch((e) => this.hooks.onError(job, e))
          .finally(() => {
            this.active--;
            slot.running = undefined;
            if (slot.pending) this.waiting.push(key);
            else this.slots.delete(key);
            this.pump();
          }),
      );
    }
  }
}
