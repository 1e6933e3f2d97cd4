/**
 * The comments the bot writes on a Defender alert / incident: who, what, when, outcome, and a
 * deny's reason. Every part that comes from people or directories (names, reasons, messages) is
 * user text: control characters removed, whitespace flattened, length capped; the whole comment
 * is capped too. Defender shows comments as text; nothing here is markup.
 */
import type { CloseOutcome } from '../domain/defender-outcomes.ts';

const MAX_COMMENT = 1_000;
const MAX_PART = 500;

/** User text made safe for a one-line comment part. */
export function commentPart(text: string, max = MAX_PART): string {
  // eslint-disable-next-line no-control-regex -- stripping control characters is the point
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069]+/g, ' ').replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

function utc(at: Date): string {
  return `${at.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function bounded(text: string): string {
  return text.length <= MAX_COMMENT ? text : `${text.slice(0, MAX_COMMENT - 1)}…`;
}

export function approvedComment(what: string, approvers: string, at: Date): string {
  return bounded(`incident-bot: ${commentPart(what)} approved by ${commentPart(approvers, 200)} at ${utc(at)}.`);
}

export function deniedComment(what: string, by: string, reason: string | undefined, at: Date): string {
  const why = reason ? ` Reason: "${commentPart(reason)}".` : ' No reason given.';
  return bounded(`incident-bot: ${commentPart(what)} denied by ${commentPart(by, 200)} at ${utc(at)}.${why}`);
}

export function resultComment(outcome: 'succeeded' | 'failed', line: string, at: Date): string {
  return bounded(`incident-bot: action ${outcome} at ${utc(at)}: ${commentPart(line)}`);
}

export function closedComment(outcome: CloseOutcome, by: string, at: Date): string {
  return bounded(`incident-bot: closed by ${commentPart(by, 200)} at ${utc(at)} as ${outcome.label} (${outcome.classification}/${outcome.determination}).`);
}

export function ownerComment(owner: string, by: string, at: Date): string {
  return bounded(`incident-bot: assigned to ${commentPart(owner, 200)} by ${commentPart(by, 200)} at ${utc(at)}.`);
}
