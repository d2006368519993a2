import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LatestOnly } from '../../src/extension/latest-only';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('debounces: only the input after the pause runs', async () => {
  const ran: string[] = [];
  const got: string[] = [];
  const l = new LatestOnly<string, string>(30, async (q) => (ran.push(q), q.toUpperCase()), (r) => got.push(r));
  l.push('h');
  l.push('he');
  l.push('hello');
  await sleep(80);
  assert.deepEqual(ran, ['hello']);
  assert.deepEqual(got, ['HELLO']);
});

test('drops a slow answer that a newer input made stale', async () => {
  const got: string[] = [];
  const l = new LatestOnly<number, number>(5, async (ms) => (await sleep(ms), ms), (r) => got.push(String(r)));
  l.push(80);
  await sleep(20); // the 80 ms search is running
  l.push(10);
  await sleep(150);
  assert.deepEqual(got, ['10']);
});

test('now() runs at once; cancel() and dispose() drop pending work; busy is reported', async () => {
  const got: string[] = [];
  const busy: boolean[] = [];
  const l = new LatestOnly<string, string>(20, async (q) => q, (r) => got.push(r), () => {}, (b) => busy.push(b));
  await l.now('a');
  assert.deepEqual(got, ['a']);
  l.push('b');
  l.cancel();
  await sleep(50);
  assert.deepEqual(got, ['a']);
  assert.equal(busy[busy.length - 1], false);
  l.push('c');
  l.dispose();
  await sleep(50);
  assert.deepEqual(got, ['a']);
});

test('errors of the latest input are reported, stale ones are not', async () => {
  const errors: string[] = [];
  const l = new LatestOnly<string, string>(1, async (q) => {
    await sleep(q === 'slow' ? 40 : 1);
    throw new Error(q);
  }, () => {}, (e) => errors.push((e as Error).message));
  l.push('slow');
  await sleep(10);
  l.push('fast');
  await sleep(80);
  assert.deepEqual(errors, ['fast']);
});
