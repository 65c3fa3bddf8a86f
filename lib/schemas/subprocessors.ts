/** The subprocessor registry as the admin API accepts it. */
import { z } from 'zod';
import { DATA_CATEGORIES } from '../pure/data-categories';

export const SubprocessorInput = z
  .strictObject({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be a lower-case slug such as "crm" or "mail-delivery"'),
    name: z.string().trim().min(1).max(200),
    baseUrl: z
      .url({ protocol: /^https?$/ })
      .max(500)
      .meta({ description: 'Protocol v1 base URL; calls go to {baseUrl}/v1/...' }),
    signingSecret: z
      .string()
      .min(32, 'must be at least 32 characters')
      .max(512)
      .meta({ description: 'Shared HMAC secret; never returned' }),
    categories: z.array(z.enum(DATA_CATEGORIES)).min(1).max(DATA_CATEGORIES.length),
    active: z.boolean().default(true),
  })
  .meta({ id: 'SubprocessorInput' });

export type SubprocessorInput = z.infer<typeof SubprocessorInput>;
