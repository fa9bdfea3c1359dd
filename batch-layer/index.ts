/**
 * The batch layer's public surface: everything outside `batch-layer/` imports from here.
 *
 *   batch-layer.ts      the layer: ingest, schedule, runs through the job queue, deployable logic
 *   batch-ingestor.ts   exactly-once ingest of the log into the master dataset
 *   master-dataset.ts   immutable Parquet splits plus their manifest (offsets covered)
 *   master-archive.ts   the master dataset read by log offset: the Kappa archive replay's history
 *   batch-run.ts        one MapReduce run: map, shuffle, reduce, publish (over DuckDB)
 *   batch-views.ts      the versioned batch views, the current pointer, pins
 *   batch-worker.ts     the job-queue worker that runs map and reduce tasks
 *   storage-layout.ts   where the batch layer's data lives under the data directory
 *   logic/              the batch logic per version (SQL files)
 */
export { BatchLayer, type BatchLayerOptions } from './batch-layer.js';
export { BatchIngestor, type IngestorOptions } from './batch-ingestor.js';
export { AnalyticDb, sqlList } from './analytic-db.js';
export { executeBatchRun, type BatchRunRecord, type BatchRunState } from './batch-run.js';
export { BatchViews, type BatchView, type BatchViewMeta } from './batch-views.js';
export { BATCH_QUEUE, startBatchWorker } from './batch-worker.js';
export { archiveCoverage, MasterArchive } from './master-archive.js';
export { MasterDataset, type MasterManifest, type SplitInfo } from './master-dataset.js';
export { stagingLine, writeSplit } from './split-writer.js';
export { batchViewsDir, masterDatasetDir } from './storage-layout.js';
export { availableBatchLogicVersions } from './logic/batch-logic.js';
