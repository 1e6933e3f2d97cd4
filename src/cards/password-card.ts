import passwordTemplate from '../../cards/temporary-password.json' with { type: 'json' };
import type { OutboundMessage } from '../domain/ports/messenger.ts';
import { plain } from './alert-card.ts';
import { renderTemplate } from './render.ts';

/**
 * The 1:1 message that hands an approver a generated password. Its text and summary (what a phone's
 * lock screen and the chat list show) only say that a password is ready; the password itself sits
 * behind "Reveal password" (Action.ShowCard), so it is on screen only when the person asks.
 * Adaptive Card ShowCard: https://adaptivecards.io/explorer/Action.ShowCard.html
 */
export function renderPasswordMessage(targetLabel: string, password: string): OutboundMessage {
  const who = plain(targetLabel, 200);
  const card = renderTemplate(passwordTemplate, {
    intro: `The new password of ${who} is ready.`,
    advice: 'Give it to the user over a trusted channel; they must change it at next logon.',
    // Monospace, verbatim: markdown escaping would change what the user must type.
    password,
  });
  return { card, summary: `A temporary password for ${who} is ready`, text: `A temporary password for ${who} is ready: open the card to reveal it.` };
}
