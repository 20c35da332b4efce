import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { structuralSchema } from './structural.ts';

describe('structuralSchema', () => {
  it('turns an integer | string union into int-or-string', () => {
    expect(structuralSchema(z.object({ q: z.union([z.int().min(0), z.string().regex(/^\d+m$/)]) })).properties?.q).toEqual({
      'x-kubernetes-int-or-string': true,
      anyOf: [{ type: 'integer' }, { type: 'string' }],
      minimum: 0,
      pattern: '^\\d+m$',
    });
  });

  it.each([
    ['another union', z.object({ u: z.union([z.string(), z.boolean()]) }), /only union a CRD schema allows/],
    ['a literal-free any', z.object({ a: z.any() }), /needs a type/],
    ['a nullable field', z.object({ n: z.string().nullable() }), /\.n: 'nullable' cannot be expressed/],
  ])('refuses %s, naming the field', (_name, schema, message) => {
    expect(() => structuralSchema(schema)).toThrow(message);
  });

  it('keeps unknown fields only where asked, and closes everything else', () => {
    const schema = structuralSchema(
      z.strictObject({
        open: z.record(z.string(), z.unknown()).meta({ 'x-kubernetes-preserve-unknown-fields': true }),
        closed: z.strictObject({ a: z.string() }),
        map: z.record(z.string(), z.string()),
      }),
    );
    expect(schema.additionalProperties).toBeUndefined();
    expect(schema.properties?.open).toEqual({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true });
    expect(schema.properties?.closed?.additionalProperties).toBeUndefined();
    expect(schema.properties?.map?.additionalProperties).toEqual({ type: 'string' });
  });

  it('drops the bounds of a plain z.int() and the regex of a timestamp', () => {
    const schema = structuralSchema(z.object({ n: z.int(), t: z.string().regex(/^x$/).meta({ format: 'date-time' }) }));
    expect(schema.properties?.n).toEqual({ type: 'integer' });
    expect(schema.properties?.t).toEqual({ type: 'string', format: 'date-time' });
  });

  it('emits defaults, including an object default that the server fills in', () => {
    const schema = structuralSchema(z.object({ o: z.object({ a: z.int().default(3) }).prefault({}) }));
    expect(schema.properties?.o).toMatchObject({ default: {}, properties: { a: { type: 'integer', default: 3 } } });
  });
});
