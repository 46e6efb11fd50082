/**
 * GrokMemo (src/parse/grok-memo.ts): the outcome of a grok per input text, from a memo once
 * seen. Held to the grok itself: same result, same map entries in the same order, on texts
 * that repeat, never repeat (the memo pauses), fail, or capture one name twice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileGrok } from '../../src/grok/compile.js';
import { PatternLibrary } from '../../src/grok/library.js';
import { GrokMemo } from '../../src/parse/grok-memo.js';
import { FieldMap } from '../../src/core/field-map.js';

const lib = PatternLibrary.withBuiltins();

/** Runs `texts` through the grok and through a memo, each into a map that starts with one entry; compares. */
function compare(pattern: string, texts: readonly string[]): void {
  const grok = compileGrok(pattern, lib);
  const memo = new GrokMemo(grok);
  texts.forEach((text, i) => {
    const want = new FieldMap([['before', 'x'], ['user', 'old']]);
    const got = new FieldMap([['before', 'x'], ['user', 'old']]);
    const ok = grok.matchInto(text, want);
    assert.equal(memo.matchInto(text, got, i % 2 === 0), ok, `line ${i}: ${text}`);
    assert.deepEqual([...got], [...want], `line ${i}: ${text}`);
  });
}

test('GrokMemo: repeated, failing and unique texts give what the grok gives', () => {
  const users = ['bob', 'alice', 'git', 'backup'];
  const texts: string[] = [];
  for (let i = 0; i < 6000; i++) {
    const k = i % 7;
    if (k < 4) texts.push(`session opened for user ${users[k]}(uid=1000) by (uid=0)`);
    else if (k === 4) texts.push('session opened for nobody');
    else texts.push(`session opened for user u${i}(uid=${i}) by (uid=0)`);
  }
  compare('^session (?:opened|closed) for user %{USERNAME:user}\\(uid=%{INT:uid}\\)', texts);
});

test('GrokMemo: texts that never repeat (the memo pauses and resumes) stay exact', () => {
  const texts = Array.from({ length: 3 * 33 * 1024 }, (_, i) => (i % 3 === 0 ? `Accepted for u${i} from 10.0.${(i >> 8) & 255}.${i & 255}` : `noise ${i}`));
  compare('^Accepted for %{USERNAME:user} from %{IP:ip}$', texts);
});

test('GrokMemo: a name captured twice, an optional group, the empty text', () => {
  const texts: string[] = [];
  for (let i = 0; i < 3000; i++) texts.push(i % 3 === 0 ? 'a=1' : i % 3 === 1 ? 'b=2' : '');
  compare('^(?:a=%{INT:n}|b=%{INT:n})(?: %{WORD:w})?$', texts);
});

test('GrokMemo: stored results do not depend on the map they were first written to', () => {
  const grok = compileGrok('^user %{WORD:user}$', lib);
  const memo = new GrokMemo(grok);
  const a = new FieldMap();
  assert.equal(memo.matchInto('user bob', a, false), true);
  a.set('user', 'changed');
  const b = new FieldMap();
  assert.equal(memo.matchInto('user bob', b, false), true);
  assert.deepEqual([...b], [['user', 'bob']]);
});
