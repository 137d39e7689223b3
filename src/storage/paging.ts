import type { Redis } from 'ioredis';
import { z } from 'zod';
import { integerTextSchema } from './ids.js';

/** The query of every list route: a page size, and where the previous page ended. */
export const pageQuerySchema = z.object({
  limit: integerTextSchema(1, 100).default(20).describe('Items per page, 1 to 100 (default 20)'),
  cursor: z.string().regex(/^\d+$/, 'must be the nextCursor of a previous page').optional(),
});
export type PageQuery = z.infer<typeof pageQuerySchema>;

export const nextCursorSchema = z.string().nullable().describe('Pass as cursor for the next page; null on the last page');

/**
 * One page of a sorted-set index, highest score first. The cursor is the score of the last id of
 * the previous page, so a page stays right while newer entries arrive; scores are unique
 * creation numbers.
 */
export async function pageOfIndex(redis: Redis, key: string, limit: number, cursor: string | undefined): Promise<{ ids: string[]; nextCursor: string | null }> {
  const max = cursor ? `(${cursor}` : '+inf';
  const entries = await redis.zrevrangebyscore(key, max, '-inf', 'WITHSCORES', 'LIMIT', 0, limit + 1);
  const ids = entries.filter((_, i) => i % 2 === 0);
  const scores = entries.filter((_, i) => i % 2 === 1);
  return { ids: ids.slice(0, limit), nextCursor: ids.length > limit ? scores[limit - 1] : null };
}
