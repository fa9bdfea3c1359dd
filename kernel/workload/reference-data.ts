import { SeededRandom } from '../util/random.js';

export interface AdCampaign {
  ad_id: string;
  campaign_id: string;
}

export interface ReferenceData {
  campaigns: string[];
  ads: AdCampaign[];
  /** ad_id → campaign_id (YSB keeps this in Redis; every layer joins against it). */
  campaignOf: ReadonlyMap<string, string>;
  /** User ids that belong to bots (logic v2 and v3 exclude them). */
  bots: string[];
  /**
   * The campaign reorganisation logic v3 joins against: ad_id → its new campaign_id, for the ads
   * that moved (the first ad of every campaign moves to the next campaign). v1 and v2 keep `ads`.
   */
  movedAds: ReadonlyMap<string, string>;
  userPool: string[];
  pagePool: string[];
}

export interface ReferenceOptions {
  /** Seed of the reference data; the same seed gives the same campaigns, ads, users and bots. */
  seed: number;
  campaigns: number;
  adsPerCampaign: number;
  userPool: number;
  pagePool: number;
  bots: number;
}

export const YSB_REFERENCE: ReferenceOptions = {
  seed: 1,
  campaigns: 100,
  adsPerCampaign: 10,
  userPool: 100,
  pagePool: 100,
  bots: 10,
};

/**
 * A UUID as one flat string: SeededRandom.uuid() concatenates slices, and V8 keeps such a string
 * as a tree of its parts — ≈ 450 bytes a user id against 64 flat, which a pool of a million users
 * (reference.userPool; the approximate-distinct scenario) turns into 450 MB per process.
 */
const flat = (s: string): string => Buffer.from(s, 'latin1').toString('latin1');

/** Builds the ad → campaign mapping, user and page pools and the bot set, deterministically. */
export function buildReferenceData(options: Partial<ReferenceOptions> = {}): ReferenceData {
  const o = { ...YSB_REFERENCE, ...options };
  const rnd = new SeededRandom(o.seed);
  const campaigns: string[] = [];
  const ads: AdCampaign[] = [];
  for (let c = 0; c < o.campaigns; c++) {
    const campaign_id = rnd.uuid();
    campaigns.push(campaign_id);
    for (let a = 0; a < o.adsPerCampaign; a++) ads.push({ ad_id: rnd.uuid(), campaign_id });
  }
  const userPool = Array.from({ length: o.userPool }, () => flat(rnd.uuid()));
  const pagePool = Array.from({ length: o.pagePool }, () => flat(rnd.uuid()));
  const bots = Array.from({ length: o.bots }, () => rnd.uuid());
  // Derived without drawing from `rnd`, so the seed's other reference data stays as it was.
  const movedAds = new Map<string, string>();
  if (campaigns.length > 1)
    for (let c = 0; c < campaigns.length; c++)
      movedAds.set(ads[c * o.adsPerCampaign]!.ad_id, campaigns[(c + 1) % campaigns.length]!);
  return {
    campaigns,
    ads,
    campaignOf: new Map(ads.map((a) => [a.ad_id, a.campaign_id])),
    bots,
    movedAds,
    userPool,
    pagePool,
  };
}
