import { describe, expect, it } from 'vitest';
import { errorMessage, readChunk, readCompletion, retryAfterMs, tokenUsage } from './chat-completions.ts';

describe('readChunk', () => {
  it.each([
    {
      name: 'a delta',
      json: { model: 'm', choices: [{ delta: { content: 'hi' }, finish_reason: null }] },
      reading: { content: 'hi', model: 'm' },
    },
    { name: 'the role-only first chunk', json: { choices: [{ delta: { role: 'assistant' } }] }, reading: { content: '' } },
    {
      name: 'a null content',
      json: { choices: [{ delta: { content: null }, finish_reason: 'stop' }] },
      reading: { content: '', finishReason: 'stop' },
    },
    {
      name: 'the usage chunk',
      json: { choices: [], usage: { prompt_tokens: 9, completion_tokens: 3, prompt_tokens_details: { cached_tokens: 4 } } },
      reading: { content: '', usage: { promptTokens: 9, completionTokens: 3, cachedTokens: 4 } },
    },
    {
      name: 'counts that are not counts',
      json: { usage: { prompt_tokens: -1, completion_tokens: 2.5 } },
      reading: { content: '', usage: {} },
    },
    {
      name: 'an OpenAI error',
      json: { error: { message: 'overloaded', type: 'server_error' } },
      reading: { content: '', error: 'overloaded' },
    },
    { name: 'not an object', json: [1], reading: { content: '', error: 'expected a JSON object' } },
  ])('reads $name', ({ json, reading }) => {
    expect(readChunk(json)).toEqual(reading);
  });

  it('reads a whole answer from its message', () => {
    expect(readCompletion({ choices: [{ message: { content: 'all' }, finish_reason: 'stop' }] })).toEqual({
      content: 'all',
      finishReason: 'stop',
    });
  });
});

describe('tokenUsage', () => {
  it.each([
    {
      usage: { promptTokens: 100, completionTokens: 20, cachedTokens: 64 },
      expected: { inputTokens: 100, outputTokens: 20, cachedTokens: 64, contextTokens: 120, model: 'm' },
    },
    { usage: { promptTokens: 100 }, expected: { inputTokens: 100, model: 'm' } },
    { usage: undefined, expected: { model: 'm' } },
  ])('maps $usage', ({ usage, expected }) => {
    expect(tokenUsage(usage, 'm')).toEqual(expected);
  });
});

describe('errorMessage', () => {
  it.each([
    ['{"error":{"message":"Invalid API key","type":"invalid_request_error"}}', 'Invalid API key'],
    ['{"error":"model \\"x\\" not found"}', 'model "x" not found'],
    ['{"object":"error","message":"max_tokens is too large","type":"BadRequestError"}', 'max_tokens is too large'],
    ['{"detail":"Not Found"}', '{"detail":"Not Found"}'],
    ['  upstream connect error  ', 'upstream connect error'],
  ])('%s -> %s', (text, message) => {
    expect(errorMessage(text)).toBe(message);
  });
});

describe('retryAfterMs', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  it.each([
    { value: '5', ms: 5000 },
    { value: ' 0 ', ms: 0 },
    { value: 'Wed, 01 Jan 2025 00:00:30 GMT', ms: 30_000 },
    { value: 'Tue, 31 Dec 2024 23:00:00 GMT', ms: 0 },
    { value: 'soon', ms: undefined },
    { value: '-3', ms: undefined },
    { value: null, ms: undefined },
  ])('$value -> $ms', ({ value, ms }) => {
    expect(retryAfterMs(value, now)).toBe(ms);
  });
});
