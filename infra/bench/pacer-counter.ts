/**
 * Counts the API-budget pacer's slot reservations during a run. In AWS each one is a DynamoDB
 * GetItem (strongly consistent) and a conditional PutItem on a small item; locally the same
 * reservations go to a file clock, whose method is wrapped here for the length of a run. Before
 * the pacer existed there is nothing to count (0).
 */
type Reserve = (...args: unknown[]) => Promise<unknown>;
interface ClockClass {
  prototype: { reserve: Reserve };
}

const FILE_CLOCK = new URL('../../functions/pacing/file-slot-clock.ts', import.meta.url).href;

export async function countPacerReservations(): Promise<() => number> {
  let clock: ClockClass | undefined;
  try {
    clock = ((await import(FILE_CLOCK)) as { FileSlotClock?: ClockClass }).FileSlotClock;
  } catch {
    clock = undefined;
  }
  if (!clock) return () => 0;
  const proto = clock.prototype;
  const reserve = proto.reserve;
  let count = 0;
  proto.reserve = function (this: unknown, ...args: unknown[]) {
    count++;
    return reserve.apply(this, args);
  };
  return () => {
    proto.reserve = reserve;
    return count;
  };
}
