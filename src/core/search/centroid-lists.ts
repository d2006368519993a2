// Inverted lists of the compressed index: for each centroid, the units that have at least one
// token vector assigned to it (ascending, no repeats), in two flat arrays (CSR layout).
import type { UnitSpan } from './dense-scorer';

export class CentroidLists {
  private constructor(
    /** Units of centroid c are units[offsets[c] .. offsets[c + 1]). */
    readonly offsets: Int32Array,
    readonly units: Int32Array,
  ) {}

  static build(centroidIds: ArrayLike<number>, k: number, spans: readonly UnitSpan[]): CentroidLists {
    // lastUnit[c]: the last unit counted for centroid c — units are visited in order, so a
    // unit with several vectors on one centroid is listed once.
    const lastUnit = new Int32Array(k).fill(-1);
    const counts = new Int32Array(k + 1);
    for (let u = 0; u < spans.length; u++) {
      const { tokenFirst, tokenCount } = spans[u];
      for (let j = tokenFirst; j < tokenFirst + tokenCount; j++) {
        const c = centroidIds[j];
        if (lastUnit[c] !== u) {
          lastUnit[c] = u;
          counts[c + 1]++;
        }
      }
    }
    for (let c = 0; c < k; c++) counts[c + 1] += counts[c];
    const offsets = counts;
    const units = new Int32Array(offsets[k]);
    const fill = offsets.slice(0, k);
    lastUnit.fill(-1);
    for (let u = 0; u < spans.length; u++) {
      const { tokenFirst, tokenCount } = spans[u];
      for (let j = tokenFirst; j < tokenFirst + tokenCount; j++) {
        const c = centroidIds[j];
        if (lastUnit[c] !== u) {
          lastUnit[c] = u;
          units[fill[c]++] = u;
        }
      }
    }
    return new CentroidLists(offsets, units);
  }

  unitsOf(c: number): Int32Array {
    return this.units.subarray(this.offsets[c], this.offsets[c + 1]);
  }
}
