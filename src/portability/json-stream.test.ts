import { describe, expect, it } from 'vitest';
import { parseJsonStream } from './json-stream.ts';

async function* chunks(...parts: Array<string | Uint8Array>) {
  for (const part of parts) yield part;
}
const options = { what: 'the body', maxBytes: 1000 };

describe('parseJsonStream', () => {
  it('parses a value split anywhere, keeping __proto__ as an own key', async () => {
    const value = await parseJsonStream(chunks('{"a":[1,', '2],"__pro', 'to__":{"x":"é"}} \n'), options);
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value as object)).toEqual(['a', '__proto__']);
    expect(JSON.stringify(value)).toBe('{"a":[1,2],"__proto__":{"x":"é"}}');
  });

  it.each([
    ['a truncated document', ['{"a":[1,'], 'InvalidInput'],
    ['nothing', [''], 'InvalidInput'],
    ['two values', ['{} {}'], 'InvalidInput'],
    ['bytes that are not UTF-8', [new Uint8Array([0x22, 0xff, 0x22])], 'InvalidInput'],
    ['more than maxBytes', [`"${'x'.repeat(600)}`, `${'x'.repeat(600)}"`], 'PayloadTooLarge'],
  ])('refuses %s', async (_what, parts, code) => {
    await expect(parseJsonStream(chunks(...parts), options)).rejects.toMatchObject({ code });
  });
});
