import { z } from 'zod';

// C0 controls and DEL, except tab, newline and carriage return; plus the Unicode line/paragraph
// separators and bidi overrides that make a name print as something else.
const CONTROL_IN_TEXT = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\u2028\u2029\u202A-\u202E\u2066-\u2069]/;
const CONTROL_IN_LINE = /[\u0000-\u001F\u007F\u2028\u2029\u202A-\u202E\u2066-\u2069]/;

/** A single-line text field (a name): no control characters at all. */
export const singleLineText = (max: number) =>
  z
    .string()
    .max(max)
    .refine((value) => !CONTROL_IN_LINE.test(value), 'must not contain control characters or line breaks');

/** A multi-line text field (notes): line breaks and tabs allowed, other control characters not. */
export const multiLineText = (max: number) =>
  z
    .string()
    .max(max)
    .refine((value) => !CONTROL_IN_TEXT.test(value), 'must not contain control characters');
