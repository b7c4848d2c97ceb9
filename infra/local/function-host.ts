/**
 * One Lambda function of a local run, in a worker thread of its own: its own environment (the
 * variables the template gives this function, and credentials that identify its role to the
 * local AWS endpoint) and its own module state (the cached secret, token and clients), as each
 * function has its own containers in AWS. The runner posts invocations and gets back the result
 * or the error, as the Lambda runtime would hand them to Step Functions.
 */
import { parentPort, workerData } from 'node:worker_threads';

interface HostData {
  handlerModule: string;
}

type Message = { type: 'invoke'; id: number; event: unknown } | { type: 'newContainer' };

const { handlerModule } = workerData as HostData;
const port = parentPort!;

const [{ handler }, singletons, tokens] = await Promise.all([
  import(handlerModule) as Promise<{ handler: (event: unknown) => Promise<unknown> }>,
  import('../../functions/shared/singletons.ts'),
  import('../../functions/genesys/token-cache.ts'),
]);

port.on('message', (message: Message) => {
  if (message.type === 'newContainer') {
    // What a cold start begins without: a run against another org must not be served the last run's secret or token.
    singletons.startAsNewContainer();
    tokens.sharedTokenCache.clear();
    port.postMessage({ type: 'ready' });
    return;
  }
  handler(message.event)
    .then(
      (output) => ({ type: 'result', id: message.id, output: JSON.stringify(output ?? null) }),
      (err: unknown) => {
        const e = err instanceof Error ? err : new Error(String(err));
        return { type: 'result', id: message.id, error: { name: e.name, message: e.message, stack: e.stack ?? '' } };
      },
    )
    // The invocation's log lines go out before its result, so a run's logs are complete when it ends.
    .then(async (reply) => {
      await new Promise<void>((resolve) => process.stdout.write('', () => process.stderr.write('', () => resolve())));
      port.postMessage(reply);
    });
});
port.postMessage({ type: 'ready' });
