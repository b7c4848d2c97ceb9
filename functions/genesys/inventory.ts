/**
 * Collects list pages into one inventory. Kept apart from the HTTP calls so that a listing
 * interrupted by a 429 can be saved and resumed at the next page in a later invocation.
 */
import type { IndexPage, IndexRecord } from './shapes.ts';

export interface IndexInventory {
  records: IndexRecord[];
  pages: number;
  /** What the server said the total was, when it said so. */
  reportedTotal?: number;
  /** Problems with the listing as a whole (duplicates across pages, totals that disagree). */
  warnings: string[];
}

/** Far more pages than any org has; stops a server that never says "last page". */
export const MAX_PAGES = 10_000;

const recordId = (r: IndexRecord): string | undefined => (r.valid ? r.index.id : r.id);

export class InventoryCollector {
  private readonly inventory: IndexInventory;
  private readonly seen: Set<string>;

  constructor(saved?: IndexInventory) {
    this.inventory = saved ? structuredClone(saved) : { records: [], pages: 0, warnings: [] };
    this.seen = new Set(this.inventory.records.map(recordId).filter((id): id is string => id !== undefined));
  }

  get nextPage(): number {
    return this.inventory.pages + 1;
  }

  /** Adds one page; true when it was the last one. */
  add(page: IndexPage): boolean {
    this.inventory.pages++;
    if (page.total !== undefined) this.inventory.reportedTotal = page.total;
    for (const record of page.records) {
      const id = recordId(record);
      if (id !== undefined && this.seen.has(id)) {
        this.inventory.warnings.push(`index ${id} was listed twice (again on page ${page.pageNumber}); kept the first`);
        continue;
      }
      if (id !== undefined) this.seen.add(id);
      this.inventory.records.push(record);
    }
    // More pages while either pageCount or nextUri says so: one of them may lie, and a pageCount
    // that lies low must not lose records. One that lies high would lead through empty pages
    // forever: an empty page ends it.
    const more = page.pageNumber < page.pageCount || page.nextUri !== undefined;
    const last = page.records.length === 0 || !more;
    if (!last && this.inventory.pages >= MAX_PAGES) {
      this.inventory.warnings.push(`stopped after ${MAX_PAGES} pages`);
      return true;
    }
    return last;
  }

  /** The inventory so far, with a warning when the count disagrees with what the server reported. */
  finish(): IndexInventory {
    const inv = structuredClone(this.inventory);
    if (inv.reportedTotal !== undefined && inv.reportedTotal !== inv.records.length) {
      inv.warnings.push(`the server reported ${inv.reportedTotal} indexes but listed ${inv.records.length}`);
    }
    return inv;
  }

  snapshot(): IndexInventory {
    return structuredClone(this.inventory);
  }
}
