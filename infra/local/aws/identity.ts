/**
 * Who is calling AWS in a local run. In AWS each function signs its calls with its own execution
 * role's credentials; locally all functions run in one process, so the runner runs each
 * invocation inside `asPrincipal(name, …)` and every HTTP request made within it carries that
 * name to the local AWS endpoint, which evaluates the call against that role's policies. The
 * handlers and the SDK clients are untouched: the name is added where Node's http.request is
 * called (the SDK's HTTP handler calls it through the module, and the call runs in the
 * invocation's async context).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import http from 'node:http';

export const PRINCIPAL_HEADER = 'x-local-aws-principal';

const current = new AsyncLocalStorage<string>();
let installed = false;

type RequestArgs = Parameters<typeof http.request>;

function install(): void {
  if (installed) return;
  installed = true;
  const original = http.request;
  // Before the request exists: a body sent with Expect: 100-continue has its headers on the wire at once.
  http.request = function request(this: unknown, ...args: RequestArgs) {
    const name = current.getStore();
    const options = args[0];
    if (name && options && typeof options === 'object' && !(options instanceof URL)) {
      const o = options as http.RequestOptions;
      o.headers = { ...(o.headers as Record<string, string> | undefined), [PRINCIPAL_HEADER]: name };
    }
    return (original as (...a: RequestArgs) => http.ClientRequest).apply(this, args);
  } as typeof http.request;
}

export function asPrincipal<T>(name: string, work: () => T): T {
  install();
  return current.run(name, work);
}
