/**
 * What an analyst may set when closing an alert from the card: Defender's classification and the
 * determinations that belong to it. Values are Graph's enum members (resource `security-alert`,
 * https://learn.microsoft.com/en-us/graph/api/resources/security-alert: alertClassification and
 * alertDetermination values; PATCH in https://learn.microsoft.com/en-us/graph/api/security-alert-update).
 * The pairing follows the descriptions on that resource page (apt, malware, multiStagedAttack,
 * compromisedUser, maliciousUserActivity: "a true positive alert that..."; securityTesting,
 * confirmedUserActivity, lineOfBusinessApplication: true suspicious activity "considered OK";
 * clean, insufficientData: "a false alert"). Graph's docs name no refused combination, so the
 * stand-in refuses none; the card offers only these pairs.
 */
export const ALERT_CLASSIFICATIONS = ['unknown', 'falsePositive', 'truePositive', 'informationalExpectedActivity', 'unknownFutureValue'] as const;
export type AlertClassification = (typeof ALERT_CLASSIFICATIONS)[number];

export const ALERT_DETERMINATIONS = [
  'unknown',
  'apt',
  'malware',
  'securityPersonnel',
  'securityTesting',
  'unwantedSoftware',
  'other',
  'multiStagedAttack',
  'compromisedUser',
  'phishing',
  'maliciousUserActivity',
  'clean',
  'insufficientData',
  'confirmedUserActivity',
  'lineOfBusinessApplication',
  'unknownFutureValue',
] as const;
export type AlertDetermination = (typeof ALERT_DETERMINATIONS)[number];

export interface CloseOutcome {
  /** The choice's value on the card: `classification/determination`. */
  value: string;
  classification: AlertClassification;
  determination: AlertDetermination;
  /** What the card and the comment say. */
  label: string;
}

const outcome = (classification: AlertClassification, determination: AlertDetermination, label: string): CloseOutcome => ({ value: `${classification}/${determination}`, classification, determination, label });

/** The choices the close form offers, most frequent first for an identity alert. */
export const CLOSE_OUTCOMES: readonly CloseOutcome[] = [
  outcome('truePositive', 'compromisedUser', 'True positive: compromised account'),
  outcome('truePositive', 'maliciousUserActivity', 'True positive: malicious user activity'),
  outcome('truePositive', 'multiStagedAttack', 'True positive: multi-staged attack'),
  outcome('truePositive', 'apt', 'True positive: advanced persistent threat'),
  outcome('truePositive', 'malware', 'True positive: malware'),
  outcome('truePositive', 'other', 'True positive: other'),
  outcome('informationalExpectedActivity', 'securityTesting', 'Expected activity: security testing'),
  outcome('informationalExpectedActivity', 'confirmedUserActivity', 'Expected activity: confirmed user activity'),
  outcome('informationalExpectedActivity', 'lineOfBusinessApplication', 'Expected activity: line-of-business application'),
  outcome('informationalExpectedActivity', 'other', 'Expected activity: other'),
  outcome('falsePositive', 'clean', 'False positive: not malicious'),
  outcome('falsePositive', 'insufficientData', 'False positive: not enough data to validate'),
  outcome('falsePositive', 'other', 'False positive: other'),
];

/** The outcome a card's choice names; undefined for anything the form does not offer. */
export function closeOutcomeOf(value: unknown): CloseOutcome | undefined {
  return typeof value === 'string' ? CLOSE_OUTCOMES.find((o) => o.value === value) : undefined;
}
