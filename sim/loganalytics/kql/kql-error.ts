/**
 * A query the stand-in refuses. The server maps it to Log Analytics' 400 body:
 * {"error":{"code":"BadArgumentError", ..., "innererror":{"code":"SyntaxError"|"SemanticError", ...}}}.
 */
export type KqlErrorKind = 'SyntaxError' | 'SemanticError';

export class KqlError extends Error {
  readonly kind: KqlErrorKind;
  /** The service's inner-inner code: SYN0002 for parse errors, SEM0100 for unresolved names. */
  readonly detailCode: string;
  readonly token: string | undefined;
  readonly line: number | undefined;
  readonly pos: number | undefined;

  constructor(kind: KqlErrorKind, detailCode: string, message: string, where: { token?: string; line?: number; pos?: number } = {}) {
    super(message);
    this.name = 'KqlError';
    this.kind = kind;
    this.detailCode = detailCode;
    this.token = where.token;
    this.line = where.line;
    this.pos = where.pos;
  }

  static syntax(reason: string, token: string, where: { line: number; pos: number }): KqlError {
    return new KqlError('SyntaxError', 'SYN0002', `Query could not be parsed at '${token}' on line [${where.line},${where.pos}]: ${reason}`, { token, ...where });
  }

  static semantic(message: string): KqlError {
    return new KqlError('SemanticError', 'SEM0100', message);
  }
}
