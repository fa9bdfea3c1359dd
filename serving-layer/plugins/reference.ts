import type { FastifyInstance } from 'fastify';
import type { LabServices } from '../lab-services.js';

export async function referenceRoutes(app: FastifyInstance, opts: { lab: LabServices }): Promise<void> {
  const { reference } = opts.lab;
  app.get(
    '/api/reference/ads',
    {
      schema: {
        tags: ['reference'],
        summary: 'The ad → campaign mapping (YSB: 100 campaigns × 10 ads).',
        response: {
          200: {
            type: 'array',
            items: {
              type: 'object',
              properties: { ad_id: { type: 'string' }, campaign_id: { type: 'string' } },
            },
          },
        },
      },
    },
    async () => reference.ads,
  );
  app.get(
    '/api/reference/bots',
    {
      schema: {
        tags: ['reference'],
        summary: 'The bot user_ids (logic v2 and v3 exclude their events).',
        response: { 200: { type: 'array', items: { type: 'string' } } },
      },
    },
    async () => reference.bots,
  );
  app.get(
    '/api/reference/moved-ads',
    {
      schema: {
        tags: ['reference'],
        summary:
          'The campaign reorganisation: ads that moved to another campaign (logic v3 counts their views for the new one).',
        response: {
          200: {
            type: 'array',
            items: {
              type: 'object',
              properties: { ad_id: { type: 'string' }, campaign_id: { type: 'string' } },
            },
          },
        },
      },
    },
    async () => [...reference.movedAds].map(([ad_id, campaign_id]) => ({ ad_id, campaign_id })),
  );
}
