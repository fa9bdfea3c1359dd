package dev.lklab.peers;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;

/**
 * The two fields of a YSB event the query needs (event_type, ad_id), read with Jackson's streaming
 * parser: a real JSON parse of the whole record (malformed input is rejected, as JSON.parse does in
 * our jobs) without building a tree of the fields nobody reads.
 */
final class YsbEvent {
  private static final JsonFactory JSON = new JsonFactory();

  final String eventType;
  final String adId;

  private YsbEvent(String eventType, String adId) {
    this.eventType = eventType;
    this.adId = adId;
  }

  /** null for a record that is not a JSON object. */
  static YsbEvent parse(String v) {
    String type = null;
    String ad = null;
    try (JsonParser p = JSON.createParser(v)) {
      if (p.nextToken() != JsonToken.START_OBJECT) return null;
      JsonToken t;
      while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken value = p.nextToken();
        if (value == JsonToken.START_OBJECT || value == JsonToken.START_ARRAY) p.skipChildren();
        else if ("event_type".equals(name)) type = p.getText();
        else if ("ad_id".equals(name)) ad = p.getText();
      }
      if (t != JsonToken.END_OBJECT) return null;
    } catch (IOException err) {
      return null;
    }
    return new YsbEvent(type, ad);
  }
}
