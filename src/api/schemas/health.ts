import { z } from 'zod';

export const healthResponseSchema = z.object({ status: z.literal('ok') });

export const readinessChecksSchema = z.object({
  redis: z.string().describe('"ok", or why Redis cannot be used'),
  storage: z.string().describe('"ok", or why the data directory cannot be written'),
});

export const readyResponseSchema = z.object({ status: z.literal('ready'), checks: readinessChecksSchema });

export type ReadinessChecks = z.infer<typeof readinessChecksSchema>;
