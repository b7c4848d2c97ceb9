/**
 * Who is calling AWS in a local run. In AWS each function signs its calls with its own execution
 * role's credentials; locally all functions run in one process, so the runner runs each
 * invocation inside `asPrincipal(name, …)` and every HTTP request made within it carries that
 * name to the local AWS endpoint, which evaluates the call against that role's policies. The
 * handlers and the SDK clients are untouched: the name rides on Node's own request hook.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import diagnostics from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';

export const PRINCIPAL_HEADER = 'x-local-aws-principal';

const current = new AsyncLocalStorage<string>();
let installed = false;

function install(): void {
  if (installed) return;
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  if (major < 22 || (major === 22 && minor < 12)) {
    // The channel below is newer: without it every call would be refused as unsigned.
    throw new Error(`a local run needs Node.js 22.12 or newer (the project's own Node 24 is what npm scripts use); this is ${process.version}`);
  }
  installed = true;
  // Published when a request object is created, before its headers are sent.
  diagnostics.subscribe('http.client.request.created', (message) => {
    const name = current.getStore();
    if (name) (message as { request: ClientRequest }).request.setHeader(PRINCIPAL_HEADER, name);
  });
}

export function asPrincipal<T>(name: string, work: () => T): T {
  install();
  return current.run(name, work);
}
