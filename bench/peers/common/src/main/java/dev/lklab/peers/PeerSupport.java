package dev.lklab.peers;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What both peers' main classes need beside their pipelines: --name value arguments, the ads file
 * (GET /api/reference/ads's shape), a latency quantile, the peak RSS and the one-line JSON result.
 */
final class PeerSupport {
  static Object q(List<Long> sorted, double p) {
    if (sorted.isEmpty()) return null;
    return sorted.get(Math.min(sorted.size() - 1, (int) Math.floor(p * sorted.size())));
  }

  static Map<String, String> readAds(Path file) throws IOException {
    JsonNode root = new ObjectMapper().readTree(Files.readString(file));
    JsonNode ads = root.isArray() ? root : root.path("ads");
    Map<String, String> m = new HashMap<>();
    for (JsonNode ad : ads) m.put(ad.path("ad_id").asText(), ad.path("campaign_id").asText());
    if (m.isEmpty()) throw new IllegalArgumentException(file + " holds no ads");
    return m;
  }

  static long peakRss() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status")))
        if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
    } catch (IOException | RuntimeException ignored) {
      // not Linux
    }
    return -1;
  }

  static Map<String, String> parseArgs(String[] argv) {
    Map<String, String> m = new HashMap<>();
    for (int i = 0; i < argv.length; i++) {
      if (!argv[i].startsWith("--") || i + 1 >= argv.length)
        throw new IllegalArgumentException("arguments are --name value pairs, got " + argv[i]);
      m.put(argv[i].substring(2), argv[++i]);
    }
    return m;
  }

  static String required(Map<String, String> a, String k) {
    String v = a.get(k);
    if (v == null) throw new IllegalArgumentException("--" + k + " is required");
    return v;
  }

  static String toJson(Map<String, Object> m) {
    StringBuilder b = new StringBuilder("{");
    for (Map.Entry<String, Object> e : new java.util.TreeMap<>(m).entrySet()) {
      if (b.length() > 1) b.append(',');
      b.append('"').append(e.getKey()).append("\":");
      Object v = e.getValue();
      if (v == null) b.append("null");
      else if (v instanceof Number || v instanceof Boolean) b.append(String.format(Locale.ROOT, "%s", v));
      else b.append('"').append(v.toString().replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
    }
    return b.append('}').toString();
  }

  private PeerSupport() {}
}
