import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { RunStoreError, type RunStore } from './run-store.ts';

/** Local runs keep their objects as files, laid out like the bucket. */
export class FsRunStore implements RunStore {
  private readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  async putJson(key: string, value: unknown): Promise<void> {
    const path = this.locate(key);
    await mkdir(dirname(path), { recursive: true });
    // Write then rename, so a reader never sees half a file.
    const partial = `${path}.${process.pid}.partial`;
    await writeFile(partial, JSON.stringify(value));
    await rename(partial, path);
  }

  async getJson<T>(key: string): Promise<T> {
    try {
      return JSON.parse(await readFile(this.locate(key), 'utf8')) as T;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new RunStoreError(`${this.locate(key)} does not exist`);
      throw err;
    }
  }

  async list(prefix: string): Promise<string[]> {
    let entries: string[];
    try {
      entries = await readdir(this.locate(prefix), { recursive: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return entries.filter((e) => !e.endsWith('.partial') && e.includes('.')).map((e) => `${prefix}${e.split(sep).join('/')}`);
  }

  locate(key: string): string {
    return join(this.root, ...key.split('/'));
  }
}
