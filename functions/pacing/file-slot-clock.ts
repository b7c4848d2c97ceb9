import { mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { takeSlots, type SlotClock } from './pacer.ts';

/**
 * Locally: the next free slot in a file, changed under a lock file. Calls in this process are
 * queued first (the local runner runs many handlers at once in one process); the lock file
 * covers other processes on the same store.
 */
export class FileSlotClock implements SlotClock {
  private readonly dir: string;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(dir: string) {
    this.dir = dir;
  }

  reserve(key: string, count: number, intervalMs: number, earliestMs: number, nowMs: number): Promise<number> {
    const next = this.queue.then(() => this.withLock(key, () => this.take(key, count, intervalMs, earliestMs, nowMs)));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private path(key: string): string {
    return join(this.dir, `${encodeURIComponent(key)}.json`);
  }

  private async take(key: string, count: number, intervalMs: number, earliestMs: number, nowMs: number): Promise<number> {
    let taken: number[] = [];
    try {
      taken = (JSON.parse(await readFile(this.path(key), 'utf8')) as { taken: number[] }).taken ?? [];
    } catch {
      taken = [];
    }
    const booked = takeSlots(taken, count, intervalMs, earliestMs, nowMs);
    const partial = `${this.path(key)}.${process.pid}.partial`;
    await writeFile(partial, JSON.stringify({ taken: booked.taken }));
    await rename(partial, this.path(key));
    return booked.start;
  }

  private async withLock<T>(key: string, work: () => Promise<T>): Promise<T> {
    await mkdir(this.dir, { recursive: true });
    const lock = `${this.path(key)}.lock`;
    for (let attempt = 0; ; attempt++) {
      try {
        const handle = await open(lock, 'wx');
        await handle.close();
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 2_000) throw err;
        // Another process holds it for a few milliseconds: yield and try again.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    try {
      return await work();
    } finally {
      await rm(lock, { force: true });
    }
  }
}
