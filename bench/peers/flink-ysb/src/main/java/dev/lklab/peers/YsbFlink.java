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
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.AggregateFunction;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichFlatMapFunction;
import org.apache.flink.api.common.serialization.SimpleStringSchema;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.KafkaSourceBuilder;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.streaming.api.functions.windowing.ProcessWindowFunction;
import org.apache.flink.streaming.api.windowing.assigners.TumblingEventTimeWindows;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.util.Collector;

/**
 * The Yahoo Streaming Benchmark query as an Apache Flink job on a local MiniCluster — the second
 * peer our Kappa job and speed layer are set beside (bench/kafka-streams-peer.ts runs it, `peer: 'flink'`):
 *
 * <pre>
 *   KafkaSource (earliest; bounded at the latest offsets in replay mode), event time from event_time
 *   → parse JSON → event_type == "view" → ad_id → campaign_id (in-memory map from --ads)
 *   → keyBy campaign → tumbling 10 s event-time window → count
 * </pre>
 *
 * A window's count is emitted when the watermark passes its end (and again for each late view,
 * allowed for --grace-ms); the time of its last emission is YSB's time_updated. Same CLI flags,
 * modes and one-JSON-line output as the Kafka Streams peer (YsbKafkaStreams), so the bench code
 * treats both alike:
 *
 * <ul>
 *   <li>{@code replay}: read the topic from the beginning to the offsets it had at start (a
 *       bounded source: the job ends cleanly, every window fires); prints the rate.
 *   <li>{@code live}: run --seconds, then --drain more seconds so the last windows close; prints
 *       YSB's final-event latency (time_updated − window_start − 10 000 ms) over the whole windows.
 * </ul>
 *
 * Prints "ready" on stderr once every source subtask runs. The MiniCluster runs in this JVM, so
 * the counters below are plain statics shared by the operators.
 */
public final class YsbFlink {
  static final long WINDOW_MS = 10_000;

  static final AtomicLong CONSUMED = new AtomicLong();
  static final AtomicLong VIEWS_IN = new AtomicLong();
  static final AtomicLong VIEWS_COUNTED = new AtomicLong();
  static final AtomicLong FIRST_AT = new AtomicLong();
  static final AtomicLong LAST_AT = new AtomicLong();
  static final AtomicInteger OPENED = new AtomicInteger();
  /** (campaign, window start) → {count, time_updated, window start}. */
  static final Map<String, long[]> WINDOWS = new ConcurrentHashMap<>();
  static volatile Map<String, String> campaignOf = Map.of();

  public static void main(String[] argv) throws Exception {
    Map<String, String> a = parseArgs(argv);
    String bootstrap = a.getOrDefault("bootstrap", "127.0.0.1:19092");
    String topic = required(a, "topic");
    String mode = a.getOrDefault("mode", "replay");
    long events = Long.parseLong(a.getOrDefault("events", "0"));
    long seconds = Long.parseLong(a.getOrDefault("seconds", "60"));
    long drainSeconds = Long.parseLong(a.getOrDefault("drain", "15"));
    // Parallelism = cores, like Flink's own default for a local environment.
    int threads = Integer.parseInt(a.getOrDefault("threads", Integer.toString(Runtime.getRuntime().availableProcessors())));
    long graceMs = Long.parseLong(a.getOrDefault("grace-ms", Long.toString(30L * 24 * 3600 * 1000)));
    long outOfOrderMs = Long.parseLong(a.getOrDefault("out-of-order-ms", "200"));
    String groupId = a.getOrDefault("app-id", "lklab-ysb-flink-" + UUID.randomUUID().toString().substring(0, 8));
    campaignOf = readAds(Path.of(required(a, "ads")));
    if (!mode.equals("replay") && !mode.equals("live")) throw new IllegalArgumentException("--mode replay|live");
    if (mode.equals("replay") && events <= 0) throw new IllegalArgumentException("--events N is needed in replay mode");
    boolean replay = mode.equals("replay");

    Configuration conf = new Configuration();
    conf.set(TaskManagerOptions.NUM_TASK_SLOTS, threads);
    conf.set(RestOptions.BIND_PORT, "0"); // no fixed port: several runs may share the machine
    conf.set(CoreOptions.DEFAULT_PARALLELISM, threads);
    StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(threads, conf);
    // Records are not reused by the operators downstream: skip the defensive copy between chained operators.
    env.getConfig().enableObjectReuse();

    KafkaSourceBuilder<String> sb =
        KafkaSource.<String>builder()
            .setBootstrapServers(bootstrap)
            .setTopics(topic)
            .setGroupId(groupId)
            .setStartingOffsets(OffsetsInitializer.earliest())
            .setValueOnlyDeserializer(new SimpleStringSchema())
            // Offsets are not committed back to Kafka (no checkpoints here): nothing stays on the broker.
            .setProperty("commit.offsets.on.checkpoint", "false")
            .setProperty("partition.discovery.interval.ms", "-1");
    for (Map.Entry<String, String> e : PeerTuning.consumer(replay).entrySet()) sb.setProperty(e.getKey(), e.getValue());
    if (replay) sb.setBounded(OffsetsInitializer.latest());
    KafkaSource<String> source = sb.build();

    WatermarkStrategy<String> watermarks =
        WatermarkStrategy.<String>forBoundedOutOfOrderness(Duration.ofMillis(outOfOrderMs))
            .withTimestampAssigner((s, ts) -> eventTime(s, ts));

    env.fromSource(source, watermarks, "ad-events")
        .flatMap(new ParseFilterJoin())
        .returns(Types.STRING)
        .keyBy(c -> c)
        .window(TumblingEventTimeWindows.of(Duration.ofMillis(WINDOW_MS)))
        .allowedLateness(Duration.ofMillis(graceMs))
        .aggregate(new Count(), new Emit())
        .returns(Types.LONG)
        .sinkTo(new DiscardingSink<>());

    long t0 = System.currentTimeMillis();
    JobClient job = env.executeAsync("ysb-" + mode);
    long timeoutAt = t0 + Long.parseLong(a.getOrDefault("timeout-seconds", "3600")) * 1000;
    while (OPENED.get() < threads) {
      JobStatus s = job.getJobStatus().get();
      if (s.isGloballyTerminalState()) break;
      if (System.currentTimeMillis() > timeoutAt) throw new IllegalStateException("the job did not start");
      Thread.sleep(20);
    }
    long readyAt = System.currentTimeMillis();
    System.err.println("ready");
    System.err.flush();

    Map<String, Object> out = new HashMap<>();
    out.put("mode", mode);
    out.put("topic", topic);
    out.put("threads", threads);
    out.put("exactlyOnce", false);
    out.put("flinkVersion", org.apache.flink.runtime.util.EnvironmentInformation.getVersion());
    out.put("startupMs", readyAt - t0);
    out.put("settings", "parallelism=" + threads + " objectReuse=true outOfOrderMs=" + outOfOrderMs + " "
        + PeerTuning.consumer(replay).entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
            .collect(java.util.stream.Collectors.joining(" ")));
    if (replay) {
      // The bounded source ends at the offsets the topic had at start; the job then finishes.
      job.getJobExecutionResult().get(Math.max(1, timeoutAt - System.currentTimeMillis()), TimeUnit.MILLISECONDS);
      long done = LAST_AT.get() > 0 ? Math.max(LAST_AT.get(), FIRST_AT.get()) : System.currentTimeMillis();
      if (CONSUMED.get() < events)
        throw new IllegalStateException("the topic held " + CONSUMED.get() + " of " + events + " records");
      long sum = 0;
      for (long[] w : WINDOWS.values()) sum += w[0];
      out.put("events", CONSUMED.get());
      out.put("views", VIEWS_IN.get());
      out.put("viewsCounted", VIEWS_COUNTED.get());
      out.put("countSum", sum);
      out.put("windows", WINDOWS.size());
      out.put("seconds", (done - t0) / 1000.0);
      out.put("eventsPerSec", Math.round(CONSUMED.get() / ((done - t0) / 1000.0)));
      out.put("eventsPerSecFromFirstRecord", Math.round(CONSUMED.get() / (Math.max(1, done - FIRST_AT.get()) / 1000.0)));
    } else {
      Thread.sleep(seconds * 1000);
      long stoppedAt = System.currentTimeMillis();
      Thread.sleep(drainSeconds * 1000);
      long first = ((readyAt + WINDOW_MS - 1) / WINDOW_MS) * WINDOW_MS;
      // Whole windows only: the first and the last are partial.
      List<Long> samples = new ArrayList<>();
      for (long[] w : WINDOWS.values())
        if (w[2] >= first && w[2] + WINDOW_MS <= stoppedAt) samples.add(w[1] - w[2] - WINDOW_MS);
      samples.sort(Long::compare);
      out.put("events", CONSUMED.get());
      out.put("views", VIEWS_IN.get());
      out.put("achievedRate", Math.round(CONSUMED.get() / (double) seconds));
      out.put("windows", samples.size());
      out.put("p50", q(samples, 0.5));
      out.put("p90", q(samples, 0.9));
      out.put("p99", q(samples, 0.99));
      out.put("max", samples.isEmpty() ? null : samples.get(samples.size() - 1));
      job.cancel().get(30, TimeUnit.SECONDS);
    }
    out.put("peakRssBytes", peakRss());
    System.out.println(toJson(out));
    System.exit(0);
  }

  /** Parse (only the fields the query needs), keep views, join ad → campaign; emits the campaign id. */
  static final class ParseFilterJoin extends RichFlatMapFunction<String, String> {
    @Override
    public void open(OpenContext ctx) {
      OPENED.incrementAndGet();
    }

    @Override
    public void flatMap(String v, Collector<String> out) {
      if (CONSUMED.incrementAndGet() == 1) FIRST_AT.set(System.currentTimeMillis());
      YsbEvent e = YsbEvent.parse(v);
      if (e == null || !"view".equals(e.eventType)) return;
      String campaign = campaignOf.get(e.adId);
      if (campaign == null) return;
      VIEWS_IN.incrementAndGet();
      out.collect(campaign);
    }
  }

  static final class Count implements AggregateFunction<String, Long, Long> {
    @Override
    public Long createAccumulator() {
      return 0L;
    }

    @Override
    public Long add(String campaign, Long acc) {
      VIEWS_COUNTED.incrementAndGet();
      LAST_AT.set(System.currentTimeMillis());
      return acc + 1;
    }

    @Override
    public Long getResult(Long acc) {
      return acc;
    }

    @Override
    public Long merge(Long x, Long y) {
      return x + y;
    }
  }

  /** The window's count with its time_updated, into WINDOWS (the job's output). */
  static final class Emit extends ProcessWindowFunction<Long, Long, String, TimeWindow> {
    @Override
    public void process(String campaign, Context ctx, Iterable<Long> counts, Collector<Long> out) {
      long count = counts.iterator().next();
      long start = ctx.window().getStart();
      WINDOWS.put(campaign + "@" + start, new long[] {count, System.currentTimeMillis(), start});
      out.collect(count);
    }
  }

  /** The record's event_time (epoch ms as a string in the JSON), without a full parse. */
  static long eventTime(String s, long fallback) {
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
    return Math.max(0, fallback);
  }

  /** {"ads":[{"ad_id":..,"campaign_id":..}]} (GET /api/reference/ads) or a bare array of those. */

  private YsbFlink() {}
}
