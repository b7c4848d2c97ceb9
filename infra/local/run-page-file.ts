/**
 * A local run's page (report.html) as a file a browser opens. The local S3 server keeps each
 * object as `<key>._S3rver_object`, a name a browser shows as text rather than as a page, so the
 * page is copied to `<store>/pages/<execution name>.html` (the object itself stays as it is).
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { RUN_OBJECT } from '../../functions/store/run-layout.ts';

export interface LocalRunPage {
  /** s3://bucket/key, as the report function wrote it. */
  location: string;
  /** The local S3 server's file of the object. */
  object: string;
  /** The copy to open in a browser. */
  file: string;
}

/** The page of a run in `runDir` (LocalRunResult.runDir), copied out to open; null if the run wrote none. */
export function localRunPage(store: string, run: { executionId: string; reportPath: string; runDir: string }): LocalRunPage | null {
  const object = join(run.runDir, `${RUN_OBJECT.reportPage}._S3rver_object`);
  if (!existsSync(object)) return null;
  const name = (run.executionId.split(':').pop() ?? run.executionId).replace(/[^A-Za-z0-9._-]/g, '_');
  const file = join(store, 'pages', `${name}.html`);
  mkdirSync(dirname(file), { recursive: true });
  copyFileSync(object, file);
  return { location: run.reportPath.replace(/[^/]+$/, RUN_OBJECT.reportPage), object, file };
}
