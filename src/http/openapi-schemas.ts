import { isDeepStrictEqual } from 'node:util';
import type { z } from 'zod';
import { jsonSchemaOf } from '../capabilities/catalogue.ts';

/** Where JSON Schemas go in an OpenAPI document, and how its `$ref`s point at them. */
const COMPONENTS = '#/components/schemas/';
const LOCAL_DEFS = '#/$defs/';

export interface SchemaComponents {
  /**
   * The JSON Schema of `schema` for use inside the document. The definitions zod puts
   * in the schema's own `$defs` would dangle there (in an OpenAPI document `#` is the
   * document, not the schema): those with a registry id (the recursive JSON value) move
   * to `components.schemas`, where every `$ref` then points, and the others are inlined.
   */
  of(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown>;
  /** Adds `schema` as `components.schemas[name]`; answers a `$ref` to it. */
  named(name: string, schema: z.ZodType, io: 'input' | 'output'): { $ref: string };
  /** Everything gathered so far, for `components.schemas`. */
  all(): Record<string, unknown>;
}

/** Collects the component schemas of one document; a name given two different schemas throws. */
export function createSchemaComponents(): SchemaComponents {
  const components: Record<string, unknown> = {};

  function add(name: string, schema: unknown): void {
    const existing = components[name];
    if (existing !== undefined && !isDeepStrictEqual(existing, schema)) {
      throw new Error(`two different schemas are both named ${name} in the OpenAPI document`);
    }
    components[name] = schema;
  }

  function of(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
    const { $defs = {}, ...rest } = jsonSchemaOf(schema, io);
    // `$schema` is dropped: the document's dialect (OpenAPI 3.1's, over 2020-12) applies.
    delete rest['$schema'];
    const definitions = $defs as Record<string, Record<string, unknown>>;
    const resolve = (value: unknown): unknown => retarget(value, definitions);
    for (const [name, definition] of Object.entries(definitions)) {
      if (!isAnonymous(name)) add(name, resolve(definition));
    }
    return resolve(rest) as Record<string, unknown>;
  }

  return {
    of,
    named(name, schema, io) {
      add(name, of(schema, io));
      return { $ref: `${COMPONENTS}${name}` };
    },
    all: () => components,
  };
}

// zod names the parts it had to take out of line (a cycle) `__schema0`, `__schema1`, ...
// per schema, so the same name means different things in different schemas.
const isAnonymous = (name: string) => name.startsWith('__schema');

/**
 * A copy of `value` whose `$ref`s to named local definitions point at
 * `components.schemas`, and whose `$ref`s to anonymous ones are replaced by the
 * definition itself (keeping the ref's own keywords, such as its description). An
 * anonymous definition that reaches itself cannot be inlined: give its schema an id
 * (`.meta({ id })`).
 */
function retarget(
  value: unknown,
  definitions: Record<string, Record<string, unknown>>,
  inlining: ReadonlySet<string> = new Set(),
): unknown {
  if (Array.isArray(value)) return value.map((item) => retarget(item, definitions, inlining));
  if (typeof value !== 'object' || value === null) return value;
  const { $ref, ...keywords } = value as Record<string, unknown>;
  const copy = Object.fromEntries(
    Object.entries(keywords).map(([key, child]) => [key, retarget(child, definitions, inlining)]),
  );
  if (typeof $ref !== 'string' || !$ref.startsWith(LOCAL_DEFS)) {
    return $ref === undefined ? copy : { ...copy, $ref };
  }
  const name = $ref.slice(LOCAL_DEFS.length);
  if (!isAnonymous(name)) return { ...copy, $ref: COMPONENTS + name };
  const definition = definitions[name];
  if (definition === undefined || inlining.has(name)) {
    throw new Error(`cannot inline ${$ref} in the OpenAPI document: give its schema an id`);
  }
  return { ...(retarget(definition, definitions, new Set([...inlining, name])) as object), ...copy };
}
