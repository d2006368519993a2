// The file span of each of a unit's token vectors, recomputed from the unit's own text when its
// evidence is drawn. The index stores no spans (they cost 5 bytes a vector, and only the ~10
// results shown need them): the tokenizer gives them back, without running the model. A unit (a
// passage, or a window of a long one) fed back through unitsForPassage is one unit again — a
// window holds at most the encoder's body capacity of tokens, and starts at a word start — and
// Encoder.keptSpans picks the tokens that got a vector, as encodeDocs did when it was indexed.
import type { Encoder, TokenSpans } from '../model/encoder';
import type { Passage } from '../types';
import { unitsForPassage } from './indexer';
import type { IndexedUnit } from './workspace-index';

/**
 * The unit's spans, one per token vector; a reason instead when its text does not give back as
 * many tokens as it has vectors (a window cut inside a very long word, which the text alone
 * tokenises otherwise, or any inconsistency): then no span can be trusted to be its vector's.
 */
export function unitSpans(encoder: Encoder, unit: IndexedUnit): TokenSpans | { reason: string } {
  // A plain passage: a StoredUnit reads its text from its segment at each use of `segments`.
  const p: Passage = { path: unit.path, start: unit.start, end: unit.end, kind: unit.kind, language: unit.language, context: unit.context, segments: unit.segments };
  const items = unitsForPassage(encoder, p);
  const spans = items.length === 1 ? encoder.keptSpans(items[0].input) : undefined;
  if (!spans || spans.starts.length !== unit.tokenCount) {
    const got = spans ? `${spans.starts.length} tokens` : `${items.length} windows`;
    return { reason: `${unit.path} [${unit.start}, ${unit.end}) has ${unit.tokenCount} token vectors but its text gives ${got}` };
  }
  return spans;
}
