// Evidence highlights for a free-standing passage (no workspace): used by the CLI's
// `highlight` command and the msmarco-human bench.
import type { Encoder } from '../model/encoder';
import type { Passage } from '../types';
import { unitsForPassage } from '../index/indexer';
import { FloatTokenStoreBuilder } from '../index/token-store';
import type { EvidenceToken } from './evidence';
import { pickEvidence, scoreTokens } from './searcher';

/** A free-standing text as a one-segment passage (offsets are indices into the text). */
export function passageOfText(text: string): Passage {
  return { path: '', start: 0, end: text.length, kind: 'markdown', language: 'plaintext', context: '', segments: [{ text, offset: 0 }] };
}

export async function highlightText(encoder: Encoder, query: string, passage: string, threshold?: number, granularity?: 'token' | 'sentence'): Promise<Array<[number, number]>> {
  if (passage.trim() === '' || query.trim() === '') return [];
  const items = unitsForPassage(encoder, passageOfText(passage));
  const encoded = await encoder.encodeDocs(items.map((i) => i.input));
  const q = await encoder.encodeQuery(query);
  const store = new FloatTokenStoreBuilder(encoder.dim);
  const tokens: EvidenceToken[] = [];
  // A single passage needs no compression: its evidence is scored on the exact vectors.
  const firsts = encoded.map((e) => store.add(e.vectors, e.count));
  const frozen = store.freeze();
  encoded.forEach((e, k) => tokens.push(...scoreTokens(encoder, q, frozen, firsts[k], e)));
  return pickEvidence(encoder, passage, 0, passage.length, tokens, threshold, granularity);
}
