import { z } from 'zod';

export const healthResponseSchema = z.object({ status: z.literal('ok') });

export const readinessChecksSchema = z.object({
  redis: z.string().describe('"ok", or why Redis cannot be used'),
  storage: z.string().describe('"ok", or why storage (the data directory or the S3 bucket) cannot be written'),
});

export const readyResponseSchema = z.object({
  status: z.literal('ready'),
  checks: readinessChecksSchema,
  warnings: z.array(z.string()).optional().describe('settings that work now but will lose data later, such as a Redis eviction policy'),
});

export type ReadinessChecks = z.infer<typeof readinessChecksSchema>;
