/** The action catalog lives in the domain (its vocabulary); re-exported here for the actions folder. */
export { ACTION_NAMES, ACTION_CATALOG, actionInfo, actionsOf, isActionName, isDestructive, undoOf } from '../domain/actions.ts';
export type { ActionName, ActionSystem, ActionInfo, ActionsOf, LookupOffer, PersonFacts } from '../domain/actions.ts';
