/** One byte range of a Range header, resolved against the object's size. */
export type ByteRange = { start: number; end: number } | 'unsatisfiable';

const SINGLE_RANGE = /^bytes=(?:(\d{1,15})-(\d{0,15})|-(\d{1,15}))$/;

/**
 * Strict parsing of a single-range `Range` header (RFC 9110 §14): `bytes=a-b` (a ≤ b), `bytes=a-`
 * and the suffix `bytes=-n` (n ≥ 1). A header that is not one of those is ignored (undefined:
 * send the whole object); a well-formed range that no byte of the object satisfies is
 * 'unsatisfiable' (416). Resolved here rather than by the object store: s3rver gets suffix
 * ranges wrong.
 */
export function parseByteRange(header: string | undefined, size: number): ByteRange | undefined {
  if (header === undefined) return undefined;
  const match = SINGLE_RANGE.exec(header.trim());
  if (!match) return undefined;
  const [, first, last, suffix] = match;
  if (suffix !== undefined) {
    const length = Number(suffix);
    if (length === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - length), end: size - 1 };
  }
  const start = Number(first);
  const openEnded = last === '' || last === undefined;
  if (!openEnded && Number(last) < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end: openEnded ? size - 1 : Math.min(Number(last), size - 1) };
}
