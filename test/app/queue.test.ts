import { describe, expect, it } from "vitest";
import { type Job, ReviewQueue } from "../../src/app/queue.js";

function gate() {
  let open!: () => void;
  const p = new Promise<void>((r) => {
    open = r;
  });
  return { p, open };
}

function setup(concurrency = 2) {
  const ran: string[] = [];
  const dropped: string[] = [];
  const gates = new Map<string, ReturnType<typeof gate>>();
  const running: Job[] = [];
  const q = new ReviewQueue<Job>(
    {
      run: async (job) => {
        running.push(job);
        ran.push(job.sha);
        const g = gate();
        gates.set(job.sha, g);
        await g.p;
      },
      dropped: async (job, by) => {
        dropped.push(`${job.sha}<${by}`);
      },
      onError: () => undefined,
    },
    concurrency,
  );
  return { q, ran, dropped, gates, running };
}

const job = (sha: string, order: number, key = "o/r#1"): Job => ({ key, sha, order });

describe("review queue", () => {
  it("runs one job per pull request, and a newer push supersedes the running and the waiting job", async () => {
    const { q, ran, dropped, gates, running } = setup();
    expect(q.enqueue(job("a", 1))).toBe("queued");
    expect(q.enqueue(job("b", 2))).toBe("queued");
    expect(running[0].supersededBy).toBe("b");
    expect(q.enqueue(job("c", 3))).toBe("queued");
    expect(dropped).toEqual(["b<c"]);
    expect(ran).toEqual(["a"]);
    gates.get("a")!.open();
    await new Promise((r) => setTimeout(r, 0));
    expect(ran).toEqual(["a", "c"]);
    gates.get("c")!.open();
    await q.idle();
  });

  it("drops an older push that arrives late, and a duplicate", async () => {
    const { q, dropped, gates } = setup();
    q.enqueue(job("new", 5));
    expect(q.enqueue(job("new", 5))).toBe("duplicate");
    expect(q.enqueue(job("old", 4))).toBe("stale");
    expect(dropped).toEqual(["old<new"]);
    gates.get("new")!.open();
    await q.idle();
  });

  it("bounds work across pull requests", async () => {
    const { q, ran, gates } = setup(2);
    q.enqueue(job("a", 1, "o/r#1"));
    q.enqueue(job("b", 1, "o/r#2"));
    q.enqueue(job("c", 1, "o/r#3"));
    expect(ran).toEqual(["a", "b"]);
    gates.get("a")!.open();
    await new Promise((r) => setTimeout(r, 0));
    expect(ran).toEqual(["a", "b", "c"]);
    gates.get("b")!.open();
    gates.get("c")!.open();
    await q.idle();
  });
});
