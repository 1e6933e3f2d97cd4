/** Column value conversions shared by the SqlStore parts (dates are ISO-8601 text in both databases). */
export const iso = (date: Date): string => date.toISOString();
export const optionalDate = (text: string | null): Date | undefined => (text === null ? undefined : new Date(text));
export const optional = <T>(value: T | null): T | undefined => (value === null ? undefined : value);
