package dev.lklab.peers;

import static dev.lklab.peers.PeerSupport.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.processor.TimestampExtractor;

/**
 * The Yahoo Streaming Benchmark query as a Kafka Streams application — the peer our Kappa job and
 * speed layer are set beside (bench/kafka-streams-peer.ts runs it):
 *
 * <pre>
 *   parse JSON → event_type == "view" → ad_id → campaign_id (in-memory map from --ads) →
 *   repartition by campaign → count per campaign per 10 s event-time window
 * </pre>
 *
 * Window counts are emitted through the record cache on every commit (commit.interval.ms = 1000,
 * the 1 s flush of YSB's reference jobs); the time of a window's last emission is YSB's
 * time_updated.
 *
 * <p>Modes:
 *
 * <ul>
 *   <li>{@code replay}: read a catch-up topic from the beginning until --events records went
 *       through the source and every view went through the aggregation; prints the rate.
 *   <li>{@code live}: run --seconds, then --drain more seconds so the last windows close; prints
 *       YSB's final-event latency (time_updated − window_start − 10 000 ms) over the whole windows.
 * </ul>
 *
 * Prints "ready" on stderr once the streams instance is RUNNING, and one JSON line on stdout with
 * the results. Deletes its internal topics (repartition, changelog) and local state at the end.
 */
public final class YsbKafkaStreams {
  private static final long WINDOW_MS = 10_000;
  private static final byte[] EMPTY = new byte[0];

  public static void main(String[] argv) throws Exception {
    Map<String, String> a = parseArgs(argv);
    String bootstrap = a.getOrDefault("bootstrap", "127.0.0.1:19092");
    String topic = required(a, "topic");
    String mode = a.getOrDefault("mode", "replay");
    long events = Long.parseLong(a.getOrDefault("events", "0"));
    long seconds = Long.parseLong(a.getOrDefault("seconds", "60"));
    long drainSeconds = Long.parseLong(a.getOrDefault("drain", "15"));
    // One stream thread per core: each thread polls, parses and aggregates its own tasks.
    int threads = Integer.parseInt(a.getOrDefault("threads", Integer.toString(Runtime.getRuntime().availableProcessors())));
    long graceMs = Long.parseLong(a.getOrDefault("grace-ms", Long.toString(30L * 24 * 3600 * 1000)));
    String appId = a.getOrDefault("app-id", "lklab-ysb-peer-" + System.nanoTime());
    Path stateDir = Path.of(a.getOrDefault("state-dir", System.getProperty("java.io.tmpdir")), appId);
    boolean exactlyOnce = Boolean.parseBoolean(a.getOrDefault("exactly-once", "false"));
    Map<String, String> campaignOf = readAds(Path.of(required(a, "ads")));
    if (!mode.equals("replay") && !mode.equals("live")) throw new IllegalArgumentException("--mode replay|live");
    if (mode.equals("replay") && events <= 0) throw new IllegalArgumentException("--events N is needed in replay mode");

    AtomicLong consumed = new AtomicLong();
    AtomicLong viewsIn = new AtomicLong();
    AtomicLong viewsCounted = new AtomicLong();
    AtomicLong firstAt = new AtomicLong();
    AtomicLong lastAt = new AtomicLong();
    // (campaign, window start) → {count, time_updated}
    Map<String, long[]> windows = new ConcurrentHashMap<>();

    StreamsBuilder builder = new StreamsBuilder();
    builder.stream(topic, Consumed.with(Serdes.String(), Serdes.String()).withTimestampExtractor(new EventTime()))
        .peek((k, v) -> {
          if (consumed.incrementAndGet() == 1) firstAt.set(System.currentTimeMillis());
        })
        .flatMap((k, v) -> {
          // Streaming parse of the two fields the query reads (YsbEvent), not a Jackson tree.
          YsbEvent e = YsbEvent.parse(v);
          if (e == null || !"view".equals(e.eventType)) return List.<KeyValue<String, byte[]>>of();
          String campaign = campaignOf.get(e.adId);
          if (campaign == null) return List.<KeyValue<String, byte[]>>of();
          viewsIn.incrementAndGet();
          // The count needs no value: an empty one keeps the repartition topic small.
          return List.of(KeyValue.pair(campaign, EMPTY));
        })
        .repartition(Repartitioned.with(Serdes.String(), Serdes.ByteArray()).withName("by-campaign"))
        .peek((k, v) -> {
          viewsCounted.incrementAndGet();
          lastAt.set(System.currentTimeMillis());
        })
        .groupByKey(Grouped.with(Serdes.String(), Serdes.ByteArray()))
        .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofMillis(WINDOW_MS), Duration.ofMillis(graceMs)))
        .count(Materialized.with(Serdes.String(), Serdes.Long()))
        .toStream()
        .foreach((wk, count) -> {
          if (count == null) return;
          String key = wk.key() + "@" + wk.window().start();
          windows.put(key, new long[] {count, System.currentTimeMillis(), wk.window().start()});
        });

    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, threads);
    // YSB's 1 s flush: counts leave the record cache on each commit (the live latency depends on it).
    p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, Long.parseLong(a.getOrDefault("commit-interval-ms", "1000")));
    // 64 MiB record cache (default 10 MiB): a replay touches ~100 campaigns × 1 window per 10 s of
    // event time; a bigger cache absorbs every update of a window between two commits instead of
    // evicting into RocksDB and the changelog.
    p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 64L * 1024 * 1024);
    for (Map.Entry<String, String> e : PeerTuning.consumer(mode.equals("replay")).entrySet())
      p.put(StreamsConfig.consumerPrefix(e.getKey()), e.getValue());
    // The repartition topic's producer: 256 KiB batches (default 16 KiB), fewer produce requests in a
    // replay; linger.ms stays Streams' 100 ms in a replay (batches fill first) and is 5 ms live, where
    // it would otherwise add up to 100 ms to every window's latency.
    p.put(StreamsConfig.producerPrefix(ProducerConfig.BATCH_SIZE_CONFIG), 256 * 1024);
    p.put(StreamsConfig.producerPrefix(ProducerConfig.LINGER_MS_CONFIG), mode.equals("replay") ? 100 : 5);
    p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.getParent().toString());
    p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 1);
    p.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
    if (exactlyOnce) p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);

    KafkaStreams streams = new KafkaStreams(builder.build(), p);
    streams.cleanUp();
    long t0 = System.currentTimeMillis();
    streams.start();
    while (streams.state() != KafkaStreams.State.RUNNING) {
      if (streams.state() == KafkaStreams.State.ERROR || streams.state() == KafkaStreams.State.NOT_RUNNING)
        throw new IllegalStateException("Kafka Streams went to " + streams.state());
      Thread.sleep(20);
    }
    long readyAt = System.currentTimeMillis();
    System.err.println("ready");
    System.err.flush();

    Map<String, Object> out = new HashMap<>();
    out.put("mode", mode);
    out.put("topic", topic);
    out.put("threads", threads);
    out.put("exactlyOnce", exactlyOnce);
    out.put("kafkaStreamsVersion", org.apache.kafka.common.utils.AppInfoParser.getVersion());
    out.put("startupMs", readyAt - t0);
    out.put("settings", settings(p));
    try {
      if (mode.equals("replay")) {
        long timeoutAt = System.currentTimeMillis() + Long.parseLong(a.getOrDefault("timeout-seconds", "3600")) * 1000;
        while (consumed.get() < events || viewsCounted.get() < viewsIn.get()) {
          if (System.currentTimeMillis() > timeoutAt)
            throw new IllegalStateException("timed out at " + consumed.get() + " of " + events + " records");
          Thread.sleep(10);
        }
        long done = lastAt.get() > 0 ? Math.max(lastAt.get(), firstAt.get()) : System.currentTimeMillis();
        Thread.sleep(1500); // one more commit: the last counts reach the foreach
        long sum = 0;
        for (long[] w : windows.values()) sum += w[0];
        out.put("events", consumed.get());
        out.put("views", viewsIn.get());
        out.put("viewsCounted", viewsCounted.get());
        out.put("countSum", sum);
        out.put("windows", windows.size());
        out.put("seconds", (done - t0) / 1000.0);
        out.put("eventsPerSec", Math.round(consumed.get() / ((done - t0) / 1000.0)));
        out.put("eventsPerSecFromFirstRecord", Math.round(consumed.get() / (Math.max(1, done - firstAt.get()) / 1000.0)));
      } else {
        Thread.sleep(seconds * 1000);
        long stoppedAt = System.currentTimeMillis();
        Thread.sleep(drainSeconds * 1000);
        long first = ((readyAt + WINDOW_MS - 1) / WINDOW_MS) * WINDOW_MS;
        // Whole windows only: the first and the last are partial.
        List<Long> samples = new ArrayList<>();
        for (long[] w : windows.values())
          if (w[2] >= first && w[2] + WINDOW_MS <= stoppedAt) samples.add(w[1] - w[2] - WINDOW_MS);
        samples.sort(Long::compare);
        out.put("events", consumed.get());
        out.put("views", viewsIn.get());
        out.put("achievedRate", Math.round(consumed.get() / (double) seconds));
        out.put("windows", samples.size());
        out.put("p50", q(samples, 0.5));
        out.put("p90", q(samples, 0.9));
        out.put("p99", q(samples, 0.99));
        out.put("max", samples.isEmpty() ? null : samples.get(samples.size() - 1));
      }
    } finally {
      streams.close(Duration.ofSeconds(30));
      streams.cleanUp();
      deleteInternalTopics(bootstrap, appId);
    }
    out.put("peakRssBytes", peakRss());
    System.out.println(toJson(out));
    System.exit(0);
  }

  /** The tuning in force (README.md says why), without the run's addresses and paths. */
  static String settings(Properties p) {
    return p.keySet().stream()
        .map(Object::toString)
        .filter(k -> !k.endsWith(".dir") && !k.contains("bootstrap") && !k.equals(StreamsConfig.APPLICATION_ID_CONFIG))
        .sorted()
        .map(k -> k + "=" + p.get(k))
        .collect(Collectors.joining(" "));
  }

  /** The record's event_time (epoch ms as a string in the JSON), without a full parse. */
  static final class EventTime implements TimestampExtractor {
    @Override
    public long extract(ConsumerRecord<Object, Object> record, long partitionTime) {
      Object v = record.value();
      if (v instanceof String s) {
        int i = s.indexOf("\"event_time\":\"");
        if (i >= 0) {
          int from = i + 14;
          int to = s.indexOf('"', from);
          try {
            return Long.parseLong(s, from, to, 10);
          } catch (RuntimeException ignored) {
            // fall through
          }
        }
      }
      return Math.max(0, partitionTime);
    }
  }

  /** {"ads":[{"ad_id":..,"campaign_id":..}]} (GET /api/reference/ads) or a bare array of those. */

  /** Its repartition and changelog topics and its consumer group: nothing of the run stays on the broker. */
  static void deleteInternalTopics(String bootstrap, String appId) {
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    try (Admin admin = Admin.create(p)) {
      List<String> internal =
          admin.listTopics().names().get().stream().filter(t -> t.startsWith(appId + "-")).collect(Collectors.toList());
      if (!internal.isEmpty()) admin.deleteTopics(internal).all().get();
      admin.deleteConsumerGroups(List.of(appId)).all().get();
    } catch (Exception err) {
      System.err.println("could not delete the internal topics or the group of " + appId + ": " + err);
    }
  }

}
