// The two real-protocol servers ship no types; these are the parts a local run uses.
declare module 'dynalite' {
  import type { Server } from 'node:http';
  export default function dynalite(options?: { createTableMs?: number; deleteTableMs?: number; updateTableMs?: number; path?: string }): Server;
}
declare module 's3rver' {
  import type { AddressInfo } from 'node:net';
  export default class S3rver {
    constructor(options: { port?: number; address?: string; silent?: boolean; directory: string; allowMismatchedSignatures?: boolean });
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
  }
}
