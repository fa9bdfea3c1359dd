import { join } from 'node:path';

/** Where the batch layer keeps its data under the lab's data directory. */
export const masterDatasetDir = (dataDir: string): string => join(dataDir, 'master');
/** The versioned batch views (one Parquet folder per version, and the current pointer). */
export const batchViewsDir = (dataDir: string): string => join(dataDir, 'batch', 'views');
