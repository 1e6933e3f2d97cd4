import { isActionName, type ActionName } from '../actions/action-names.ts';
import { AppError } from '../domain/errors.ts';

/**
 * Parsing of what a button or a typed command carried. Card data is untrusted: only shape is
 * checked here; whether the action may run on that account is decided against the stored alert.
 */
export interface ApproveButtonData {
  action: ActionName;
  /** Primary account key of the target, as the card carried it. */
  target: string;
  alertKey?: string;
  /** Alert reference code (fallback when the key is missing, e.g. an old card). */
  code?: string;
}

export interface AlertRefData {
  alertKey?: string;
  code?: string;
  reason?: string;
}

const MAX_FIELD = 512;

function text(data: Record<string, unknown>, field: string): string | undefined {
  const value = data[field];
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' || trimmed.length > MAX_FIELD ? undefined : trimmed;
}

export function parseApproveButton(data: Record<string, unknown>): ApproveButtonData {
  const action = data.action;
  const target = text(data, 'target');
  const alertKey = text(data, 'alertKey');
  const code = text(data, 'code');
  // Without alertKey/code the button is a person-level request (a lookup card): the workflow
  // resolves the target server-side and never trusts it beyond using it as a lookup key.
  if (!isActionName(action) || !target) {
    throw new AppError('INPUT_INVALID', 'This button does not say which action and account it is for.');
  }
  return { action, target, ...(alertKey ? { alertKey } : {}), ...(code ? { code } : {}) };
}

export function parseAlertRef(data: Record<string, unknown>): AlertRefData {
  const alertKey = text(data, 'alertKey');
  const code = text(data, 'code');
  if (!(alertKey || code)) throw new AppError('INPUT_INVALID', 'This button does not say which alert it is for.');
  const reason = typeof data.comment === 'string' ? data.comment.trim().slice(0, 500) : undefined;
  return { ...(alertKey ? { alertKey } : {}), ...(code ? { code } : {}), ...(reason ? { reason } : {}) };
}

/** `approve K7M2QX [choice]`, `deny K7M2QX [reason…]`, `resume`, `pending`; undefined for other commands. */
export type ApprovalCommand =
  | { kind: 'approve'; code: string; choice?: string }
  | { kind: 'deny'; code: string; reason?: string }
  | { kind: 'resume' }
  | { kind: 'pending' };

export function parseApprovalCommand(input: string): ApprovalCommand | undefined {
  const words = input.trim().split(/\s+/);
  const verb = words[0]?.toLowerCase();
  if (verb === 'resume' && words.length === 1) return { kind: 'resume' };
  if ((verb === 'pending' || verb === 'approvals') && words.length === 1) return { kind: 'pending' };
  if (verb !== 'approve' && verb !== 'deny') return undefined;
  const code = words[1];
  if (!code) throw new AppError('INPUT_INVALID', `Usage: ${verb} <code>${verb === 'deny' ? ' [reason]' : ' [action]'}`);
  if (verb === 'approve') return { kind: 'approve', code, ...(words[2] ? { choice: words.slice(2).join(' ') } : {}) };
  const reason = words.slice(2).join(' ').trim().slice(0, 500);
  return { kind: 'deny', code, ...(reason ? { reason } : {}) };
}
