import { describe, expect, it } from 'vitest';
import { Conversation } from './conversation.ts';

const u = (content: string): { role: 'user'; content: string } => ({ role: 'user', content });
const a = (content: string): { role: 'assistant'; content: string } => ({ role: 'assistant', content });

describe('Conversation', () => {
  it('starts with the system prompt alone, or nothing', () => {
    expect(new Conversation('Be brief.', 10).messages()).toEqual([{ role: 'system', content: 'Be brief.' }]);
    expect(new Conversation(undefined, 10).messages()).toEqual([]);
    expect(new Conversation(undefined, 10).empty).toBe(true);
  });

  it('drops the oldest exchanges past its bound, whole', () => {
    const c = new Conversation(undefined, 4);
    for (const n of [1, 2, 3]) c.record(`q${n}`, `a${n}`);
    expect(c.messages()).toEqual([u('q2'), a('a2'), u('q3'), a('a3')]);
  });

  it('keeps the exchanges recorded while a summary was being written', () => {
    const c = new Conversation('S', 10);
    c.record('q1', 'a1');
    const mark = c.exchanges;
    c.record('q2', 'a2');
    c.compactTo('sum', mark);
    expect(c.messages()).toEqual([{ role: 'system', content: 'S\n\nA summary of the conversation so far:\nsum' }, u('q2'), a('a2')]);
    expect(c.empty).toBe(false);
  });

  it('replaces an earlier summary', () => {
    const c = new Conversation(undefined, 10);
    c.compactTo('old');
    c.record('q', 'a');
    c.compactTo('new');
    expect(c.messages()).toEqual([{ role: 'system', content: 'A summary of the conversation so far:\nnew' }]);
  });
});
