package dev.lklab.peers;

import java.util.LinkedHashMap;
import java.util.Map;

/** Kafka consumer settings of the peers' sources, the same in both (bench/peers/flink-ysb keeps a copy; README.md says why). */
final class PeerTuning {
  static Map<String, String> consumer(boolean replay) {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("max.poll.records", "2000");
    m.put("max.partition.fetch.bytes", Integer.toString(4 * 1024 * 1024));
    m.put("fetch.max.bytes", Integer.toString(64 * 1024 * 1024));
    m.put("receive.buffer.bytes", Integer.toString(1024 * 1024));
    if (replay) {
      m.put("fetch.min.bytes", Integer.toString(1024 * 1024));
      m.put("fetch.max.wait.ms", "100");
    }
    return m;
  }

  private PeerTuning() {}
}
