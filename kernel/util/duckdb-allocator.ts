/**
 * DuckDB allocator settings every in-process DuckDB of the lab opens with (the truth oracle's and
 * the batch layer's). On Linux DuckDB allocates through its own statically linked jemalloc, which
 * by default keeps freed pages until a later allocation purges them: in an idle lab at 1,000
 * events/s the two databases' native memory grew by ~50 MB over 5 minutes while DuckDB's own
 * accounting (duckdb_memory()) stayed under 20 MB. jemalloc's background threads purge freed pages
 * asynchronously, and a low flush threshold returns a task's peak once it ends.
 */
export const DUCKDB_ALLOCATOR_OPTIONS: Readonly<Record<string, string>> = {
  allocator_background_threads: 'true',
  allocator_flush_threshold: '8MB',
};
