import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeCodicons, oneLine } from '../../src/extension/escape';

test('escapeCodicons: $( becomes \\$( unless already escaped', () => {
  assert.equal(escapeCodicons('use $(zap) and $(sync~spin)'), 'use \\$(zap) and \\$(sync~spin)');
  assert.equal(escapeCodicons('already \\$(zap)'), 'already \\$(zap)');
  assert.equal(escapeCodicons('price $5 (approx)'), 'price $5 (approx)');
  assert.equal(escapeCodicons('<img src=x onerror=alert(1)>'), '<img src=x onerror=alert(1)>');
});

test('oneLine collapses whitespace', () => {
  assert.equal(oneLine('  a\n\tb  c \r\n'), 'a b c');
});
