import { validate } from '@langchain/langgraph-checkpoint-validation';
import initializer from './initializer.ts';

// LangGraph's checkpointer validation suite, unmodified, against AgentStateSaver.
validate(initializer);
