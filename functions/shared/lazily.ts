/**
 * A module loaded when first asked for, once: the AWS SDK clients a function does not need at
 * import (all but S3's) come through here, so a cold start pays only for what its invocation uses.
 * The loader must be a dynamic `import()`: esbuild keeps it one, and the bundle's top level then
 * imports nothing of that package (test/lazy-clients.test.ts checks each bundle).
 */
export function lazily<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () => (loaded ??= load());
}
