import { plain } from '../cards/alert-card.ts';
import type { AlertRecord } from '../domain/ports/alert-store.ts';
import type { OutboundMention, OutboundMessage } from '../domain/ports/messenger.ts';
import type { EscalationMention } from '../domain/escalation-policy.ts';

/** A mention name as Teams shows it between <at> tags: no markup, no angle brackets, bounded. */
function mentionName(name: string): string {
  return name.replace(/[<>&*_`[\]\\]/g, '').replace(/\s+/g, ' ').trim().slice(0, 100) || 'on-call';
}

/**
 * The reminder in the alert's thread: the configured on-call people and tags @mentioned (real
 * Teams mentions: `<at>name</at>` in the text and a mention entity each), then one line on what is
 * waiting. Alert text is escaped; only the mention markup is not.
 */
export function reminderMessage(record: AlertRecord, mentions: readonly EscalationMention[], minutesWaiting: number): OutboundMessage {
  const line = `${plain(record.alert.title, 120)} (${record.severity}, ref ${plain(record.code, 20)}) has had no owner and no decision for ${Math.max(1, Math.round(minutesWaiting))} minutes. Press Take it on the card, or type \`take ${plain(record.code, 20)}\`.`;
  return withMentions(mentions, line);
}

/** `line` after the @mentions of the policy: `<at>name</at>` each in the text, and their mention entities. */
export function withMentions(mentions: readonly EscalationMention[], line: string): OutboundMessage {
  const people: OutboundMention[] = mentions.map((m) => ({ kind: m.kind, id: m.id, name: mentionName(m.name) }));
  const at = people.map((m) => `<at>${m.name}</at>`).join(' ');
  return { text: at ? `${at} ${line}` : line, ...(people.length > 0 ? { mentions: people } : {}) };
}
