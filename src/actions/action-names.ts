/** The action catalog lives in the domain (its vocabulary); re-exported here for the actions folder. */
export { ACTION_NAMES, ACTION_CATALOG, actionInfo, actionsOf, isActionName, isDestructive, SYSTEM_NAMES, undoOf } from '../domain/actions.ts';
export type { ActionName, ActionSystem, ActionInfo, ActionsOf, LookupOfferRule, PersonFacts } from '../domain/actions.ts';
