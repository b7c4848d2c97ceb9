/**
 * Counts the run store's operations as S3 would bill them, by wrapping the local store's methods
 * for the length of a run (the handlers use FsRunStore locally, the S3 store in AWS, through the
 * same interface). A LIST is billed per page of up to 1,000 keys.
 */
import { FsRunStore } from '../../functions/store/fs-run-store.ts';

export interface StoreOps {
  puts: number;
  gets: number;
  lists: number;
}

const S3_LIST_PAGE = 1000;

/** Starts counting; the returned function stops and gives the counts. */
export function countStoreOps(): () => StoreOps {
  const ops: StoreOps = { puts: 0, gets: 0, lists: 0 };
  const proto = FsRunStore.prototype;
  const { putJson, getJson, list } = proto;
  proto.putJson = async function (this: FsRunStore, key: string, value: unknown) {
    ops.puts++;
    return putJson.call(this, key, value);
  };
  proto.getJson = async function <T>(this: FsRunStore, key: string): Promise<T> {
    ops.gets++;
    return getJson.call(this, key) as Promise<T>;
  };
  proto.list = async function (this: FsRunStore, prefix: string) {
    const keys = await list.call(this, prefix);
    ops.lists += Math.max(1, Math.ceil(keys.length / S3_LIST_PAGE));
    return keys;
  };
  return () => {
    proto.putJson = putJson;
    proto.getJson = getJson;
    proto.list = list;
    return { ...ops };
  };
}
