import {
  persistentDeleteInputSchema,
  persistentDeleteResultSchema,
  persistentGetInputSchema,
  persistentGetResultSchema,
  persistentHistoryInputSchema,
  persistentHistoryResultSchema,
  persistentListInputSchema,
  persistentListResultSchema,
  persistentQueryInputSchema,
  persistentQueryResultSchema,
  persistentSetInputSchema,
  persistentSetResultSchema,
} from '../core/state/persistent-schemas.ts';
import { agentPersistentState } from './call-scope.ts';
import { defineCapability } from './capability.ts';

export const persistentCapabilities = [
  defineCapability({
    name: 'state.persistent.get',
    permission: 'autonomous',
    description: "Retrieves a value, the latest or a retained version, from the agent's persistent state.",
    input: persistentGetInputSchema,
    output: persistentGetResultSchema,
    run: (services, context, { key, version }) =>
      agentPersistentState(services, context, 'read').get(key, version),
  }),
  defineCapability({
    name: 'state.persistent.set',
    permission: 'autonomous',
    description: "Stores a key-value pair in the agent's persistent state as a new version.",
    input: persistentSetInputSchema,
    output: persistentSetResultSchema,
    run: (services, context, { key, value }) =>
      agentPersistentState(services, context, 'write').set(key, value),
  }),
  defineCapability({
    name: 'state.persistent.delete',
    permission: 'autonomous',
    description: "Removes a key and all its versions from the agent's persistent state.",
    input: persistentDeleteInputSchema,
    output: persistentDeleteResultSchema,
    run: (services, context, { key }) => agentPersistentState(services, context, 'write').delete(key),
  }),
  defineCapability({
    name: 'state.persistent.list',
    permission: 'autonomous',
    description: "Lists the keys of the agent's persistent state with version, size and update time, sorted.",
    input: persistentListInputSchema,
    output: persistentListResultSchema,
    run: (services, context, input) => agentPersistentState(services, context, 'read').list(input),
  }),
  defineCapability({
    name: 'state.persistent.query',
    permission: 'autonomous',
    description: "Answers the entries of the agent's persistent state under a key prefix, with their values.",
    input: persistentQueryInputSchema,
    output: persistentQueryResultSchema,
    run: (services, context, input) => agentPersistentState(services, context, 'read').query(input),
  }),
  defineCapability({
    name: 'state.persistent.history',
    permission: 'autonomous',
    description: "Answers the retained versions of a key of the agent's persistent state, newest first.",
    input: persistentHistoryInputSchema,
    output: persistentHistoryResultSchema,
    run: (services, context, { key, limit }) =>
      agentPersistentState(services, context, 'read').history(key, limit),
  }),
];
