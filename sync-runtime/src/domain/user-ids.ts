/**
 * The tenant's user dictionary: every launching UPN (lower-cased, as the contract compares them)
 * gets a small integer once, in the order first seen, and keeps it; rollups store sets of these
 * ids (sync-runtime/src/domain/id-set.ts) instead of UPNs. Append-only: ids are never reused or
 * moved, so a set written with an older dictionary means the same users with a newer one, and
 * assigning the same UPNs again (a re-run, a killed roll-up done again) gives the same ids and
 * adds nothing. Pure; sync-runtime/src/storage/user-ids.ts stores it.
 */
export class UserIds {
  private readonly ids = new Map<string, number>();
  private readonly upns: string[] = [];
  /** How many of the ids were there when loaded (the rest are new, still to be stored). */
  private stored: number;

  /** `upns`: the stored dictionary in id order (id = index). */
  constructor(upns: Iterable<string> = []) {
    for (const upn of upns) {
      if (this.ids.has(upn)) throw new Error(`user dictionary: ${upn} stored twice`);
      this.ids.set(upn, this.upns.length);
      this.upns.push(upn);
    }
    this.stored = this.upns.length;
  }

  get size(): number {
    return this.upns.length;
  }

  /** The id of a lower-cased UPN, assigned if new. */
  idOf(upn: string): number {
    let id = this.ids.get(upn);
    if (id === undefined) {
      id = this.upns.length;
      this.ids.set(upn, id);
      this.upns.push(upn);
    }
    return id;
  }

  /** The sorted ids of some lower-cased UPNs (new ones assigned in sorted order, so runs agree). */
  idSet(upns: readonly string[]): Uint32Array {
    const ids = new Uint32Array(upns.length);
    [...upns].sort().forEach((u, i) => (ids[i] = this.idOf(u)));
    ids.sort();
    // A repeated UPN maps to one id: drop the repeats so the set stays distinct.
    let n = 0;
    for (let i = 0; i < ids.length; i++) if (i === 0 || ids[i] !== ids[i - 1]) ids[n++] = ids[i]!;
    return n === ids.length ? ids : ids.slice(0, n);
  }

  upnOf(id: number): string | undefined {
    return this.upns[id];
  }

  /** The ids assigned since loading (or since the last `markStored`), in id order, from `firstId`. */
  unstored(): { firstId: number; upns: string[] } {
    return { firstId: this.stored, upns: this.upns.slice(this.stored) };
  }

  /** Records that every id assigned so far is stored. */
  markStored(): void {
    this.stored = this.upns.length;
  }
}
