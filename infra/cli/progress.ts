/**
 * Progress while a run goes: the run's phases and each index's state changes, from the
 * execution's events (the same events the Step Functions console shows).
 */

export interface ProgressEvent {
  type: string;
  index?: number;
  state?: { name: string; input: unknown; output?: unknown };
}

type Write = (line: string) => void;

const TERMINAL: Record<string, 'optimized' | 'skipped' | 'failed'> = {
  Optimized: 'optimized',
  Skipped: 'skipped',
  OptimizeFailed: 'failed',
  VerifyFailed: 'failed',
  UnexpectedFailure: 'failed',
};

function field(value: unknown, ...path: string[]): unknown {
  let v = value;
  for (const key of path) v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[key] : undefined;
  return v;
}

export class ProgressReporter {
  private total = 0;
  private done = 0;
  private readonly names = new Map<string, string>();
  private readonly write: Write;

  constructor(write: Write) {
    this.write = write;
  }

  private tag(): string {
    const width = String(this.total).length;
    return `[${String(this.done).padStart(width)}/${this.total}]`;
  }

  on(event: ProgressEvent): void {
    if (event.type !== 'StateExited' || !event.state) return;
    const { name, output, input } = event.state;
    const indexId = field(input, 'indexId');
    const label = typeof indexId === 'string' ? indexId : '';
    switch (name) {
      case 'ValidateInput':
        this.write(field(output, 'config', 'dryRun') === true ? 'Input accepted (dry run: nothing will be changed)' : 'Input accepted');
        return;
      case 'FetchInventory': {
        const status = field(output, 'fetch', 'status');
        if (status === 'listed') this.write(`Listed ${field(output, 'fetch', 'indexes')} indexes on ${field(output, 'fetch', 'pages')} page(s)`);
        else this.write(`Listing paused: ${field(output, 'fetch', 'reason')}; waiting ${field(output, 'fetch', 'waitSeconds')} s`);
        return;
      }
      case 'MakePlan': {
        const qualifying = field(output, 'plan', 'qualifying');
        this.total = typeof qualifying === 'number' ? qualifying : 0;
        this.write(`Plan: ${this.total} to optimize, ${field(output, 'plan', 'skipped')} skipped by policy`);
        return;
      }
      case 'ProbeLatencyBefore':
      case 'ProbeLatencyAfter': {
        const phase = name === 'ProbeLatencyBefore' ? 'before' : 'after';
        const r = field(output, 'latency', phase);
        const status = field(r, 'status');
        if (status === 'measured') this.write(`Query latency ${phase}: ${field(r, 'latencyMs')} ms`);
        else if (status === 'retry') this.write(`Query latency ${phase}: ${field(r, 'reason')}; waiting ${field(r, 'waitSeconds')} s`);
        else this.write(`Query latency ${phase}: not measured (${field(r, 'reason')})`);
        return;
      }
      case 'Optimize': {
        const r = field(output, 'optimize');
        const status = field(r, 'status');
        if (status === 'accepted') this.write(`${this.tag()} ${label}: PUT accepted, settling`);
        else if (status === 'retry') this.write(`${this.tag()} ${label}: ${field(r, 'reason')}; retrying in ${field(r, 'waitSeconds')} s`);
        return;
      }
      case 'Verify': {
        const r = field(output, 'verify');
        if (field(r, 'status') === 'poll') this.write(`${this.tag()} ${label}: ${field(r, 'reason')}; health again in ${field(r, 'waitSeconds')} s`);
        return;
      }
      default: {
        const outcome = TERMINAL[name];
        if (!outcome) return;
        this.done++;
        const id = field(output, 'id');
        const reason = field(output, 'reason');
        this.write(`${this.tag()} ${typeof id === 'string' ? id : label}: ${outcome.toUpperCase()}${typeof reason === 'string' ? ` (${reason})` : ''}`);
      }
    }
  }
}
