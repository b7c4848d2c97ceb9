/**
 * The functions of a local deployment, each in a worker thread of its own (function-host.ts) with
 * the environment the template gives it. Kept across the runs of one local AWS, as Lambda keeps
 * warm containers; each run starts them as new containers (no cached secret or token).
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';

export interface FunctionError {
  name: string;
  message: string;
  stack: string;
}

type Reply = { type: 'ready' } | { type: 'result'; id: number; output?: string; error?: FunctionError };

export class LocalFunction {
  readonly name: string;
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly waitingReady: Array<() => void> = [];
  private nextId = 0;
  private ready: Promise<void>;
  private failure: Error | null = null;
  /** Where the function's log lines go (the run's sink); without one, to this process's output as in Lambda. */
  logSink: ((line: string) => void) | null = null;

  constructor(name: string, handlerModule: string, env: Record<string, string>) {
    this.name = name;
    this.worker = new Worker(new URL('./function-host.ts', import.meta.url), { env, workerData: { handlerModule }, stdout: true, stderr: true });
    this.worker.unref();
    this.ready = new Promise((resolve) => this.waitingReady.push(resolve));
    this.worker.on('message', (reply: Reply) => {
      if (reply.type === 'ready') {
        this.waitingReady.shift()?.();
        return;
      }
      const call = this.pending.get(reply.id);
      if (!call) return;
      this.pending.delete(reply.id);
      if (reply.error) call.reject(Object.assign(new Error(reply.error.message), { name: reply.error.name, stack: reply.error.stack }));
      else call.resolve(JSON.parse(reply.output ?? 'null'));
    });
    this.worker.on('error', (err) => this.crash(err));
    this.worker.on('exit', (code) => this.crash(new Error(`the ${name} function's worker exited (code ${code})`)));
    this.pipe(this.worker.stdout, process.stdout);
    this.pipe(this.worker.stderr, process.stderr);
  }

  private pipe(from: Readable, to: NodeJS.WriteStream): void {
    createInterface({ input: from, crlfDelay: Infinity }).on('line', (line) => {
      if (this.logSink && line.startsWith('{')) this.logSink(line);
      else to.write(`${line}\n`);
    });
  }

  private crash(err: Error): void {
    this.failure ??= Object.assign(new Error(`Runtime exited: ${err.message}`), { name: 'Runtime.ExitError' });
    for (const call of this.pending.values()) call.reject(this.failure);
    this.pending.clear();
    for (const resolve of this.waitingReady.splice(0)) resolve();
  }

  /** A cold start: the next invocations find no cached secret, token or client. */
  async newContainer(): Promise<void> {
    await this.ready;
    this.ready = new Promise((resolve) => this.waitingReady.push(resolve));
    this.worker.postMessage({ type: 'newContainer' });
    await this.ready;
  }

  async invoke(event: unknown): Promise<unknown> {
    await this.ready;
    if (this.failure) throw this.failure;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'invoke', id, event });
    });
  }

  async close(): Promise<void> {
    this.failure ??= new Error('closed');
    await this.worker.terminate();
  }
}
