import { ValidationError } from './errors.ts';

/**
 * Keyset pagination cursors: the (time, id) of the last item of a page, opaque to the caller.
 * Time first, then id, because lists are ordered by time and ids break the ties.
 */
export function encodeCursor(at: Date, id: string): string {
  return Buffer.from(`${at.toISOString()}|${id}`).toString('base64url');
}

export function decodeCursor(cursor: string): { at: Date; id: string } {
  const [iso, id] = Buffer.from(cursor, 'base64url').toString().split('|');
  const at = new Date(iso ?? '');
  if (!id || Number.isNaN(at.getTime()))
    throw new ValidationError(`Invalid cursor '${cursor}'`, [
      { pointer: '/cursor', detail: 'use next_cursor as given' },
    ]);
  return { at, id };
}
