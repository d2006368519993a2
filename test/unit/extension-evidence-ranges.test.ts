import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rangesAfterChanges, stepRange } from '../../src/extension/evidence-ranges';

const R: Array<[number, number]> = [[10, 15], [20, 25], [30, 35]];

test('an insertion before a range shifts it; inside drops it; at its edges keeps its text', () => {
  assert.deepEqual(rangesAfterChanges(R, [{ offset: 0, length: 0, insertedLength: 3 }]), [[13, 18], [23, 28], [33, 38]]);
  assert.deepEqual(rangesAfterChanges(R, [{ offset: 12, length: 0, insertedLength: 1 }]), [[21, 26], [31, 36]]);
  assert.deepEqual(rangesAfterChanges(R, [{ offset: 10, length: 0, insertedLength: 2 }]), [[12, 17], [22, 27], [32, 37]]);
  assert.deepEqual(rangesAfterChanges(R, [{ offset: 15, length: 0, insertedLength: 2 }]), [[10, 15], [22, 27], [32, 37]]);
});

test('a deletion or replacement touching a range drops it; one between ranges shifts the later ones', () => {
  assert.deepEqual(rangesAfterChanges(R, [{ offset: 14, length: 3, insertedLength: 0 }]), [[17, 22], [27, 32]]);
  assert.deepEqual(rangesAfterChanges(R, [{ offset: 16, length: 4, insertedLength: 0 }]), [[10, 15], [16, 21], [26, 31]]);
  assert.deepEqual(rangesAfterChanges(R, [{ offset: 5, length: 40, insertedLength: 1 }]), []);
  assert.deepEqual(rangesAfterChanges(R, [{ offset: 40, length: 2, insertedLength: 9 }]), R);
});

test('several changes of one event (pre-event coordinates) in any order', () => {
  const changes = [
    { offset: 0, length: 0, insertedLength: 1 },
    { offset: 22, length: 1, insertedLength: 1 },
    { offset: 28, length: 0, insertedLength: 4 },
  ];
  const expected = [[11, 16], [35, 40]];
  assert.deepEqual(rangesAfterChanges(R, changes), expected);
  assert.deepEqual(rangesAfterChanges(R, [...changes].reverse()), expected);
});

test('stepRange: next after, previous before, wrapping around', () => {
  const unsorted: Array<[number, number]> = [[30, 35], [10, 15], [20, 25]];
  assert.equal(unsorted[stepRange(unsorted, 0, 1)][0], 10);
  assert.equal(unsorted[stepRange(unsorted, 10, 1)][0], 20);
  assert.equal(unsorted[stepRange(unsorted, 30, 1)][0], 10, 'wraps to the first');
  assert.equal(unsorted[stepRange(unsorted, 20, -1)][0], 10);
  assert.equal(unsorted[stepRange(unsorted, 10, -1)][0], 30, 'wraps to the last');
  assert.equal(stepRange([], 5, 1), -1);
});
