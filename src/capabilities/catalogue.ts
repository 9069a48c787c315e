import { z } from 'zod';
import type { Capability, PermissionClass } from './capability.ts';
import { capabilities } from './registry.ts';

/** One entry of `GET /v1/capabilities`: enough for a gateway to offer it as a tool. */
export interface CapabilityDescription {
  readonly name: string;
  readonly permission: PermissionClass;
  readonly description: string;
  readonly input_schema: Record<string, unknown>;
  readonly output_schema: Record<string, unknown>;
}

/** JSON Schema (draft 2020-12) of what `schema` accepts (`input`) or answers (`output`). */
export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  // `any` for what JSON Schema cannot say (refinements on bytes and path segments):
  // the schema stays a faithful superset, and the server checks the rest.
  return z.toJSONSchema(schema, { io, unrepresentable: 'any' });
}

function describeCapability(capability: Capability): CapabilityDescription {
  return {
    name: capability.name,
    permission: capability.permission,
    description: capability.description,
    input_schema: jsonSchemaOf(capability.input, 'input'),
    output_schema: jsonSchemaOf(capability.output, 'output'),
  };
}

/** Every capability, described; computed once, as the schemas never change at run time. */
export const capabilityCatalogue: readonly CapabilityDescription[] = capabilities.map(describeCapability);
