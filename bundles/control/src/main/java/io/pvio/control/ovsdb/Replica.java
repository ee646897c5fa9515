package io.pvio.control.ovsdb;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The monitored part of the {@code Open_vSwitch} database as the server last reported it: rows by table and
 * uuid, kept up to date from {@code monitor} replies and {@code update} notifications (RFC 7047 4.1.5/4.1.6),
 * plus the decoding of OVSDB values (atoms, {@code ["set",...]}, {@code ["map",...]}, {@code ["uuid",...]}).
 */
final class Replica {
    /** table -> uuid -> row (the monitored columns). */
    private final Map<String, Map<String, JsonNode>> tables = new HashMap<>();

    void clear() {
        tables.clear();
    }

    /**
     * Applies a {@code <table-updates>} object: a row with {@code new} is inserted or replaced (a monitor's
     * "new" holds every monitored column), a row without is deleted.
     */
    void apply(JsonNode tableUpdates) throws IOException {
        if (tableUpdates == null || !tableUpdates.isObject()) {
            throw new IOException("malformed table-updates: " + tableUpdates);
        }
        for (Iterator<Map.Entry<String, JsonNode>> t = tableUpdates.fields(); t.hasNext();) {
            Map.Entry<String, JsonNode> table = t.next();
            Map<String, JsonNode> rows = tables.computeIfAbsent(table.getKey(), k -> new HashMap<>());
            for (Iterator<Map.Entry<String, JsonNode>> r = table.getValue().fields(); r.hasNext();) {
                Map.Entry<String, JsonNode> row = r.next();
                JsonNode n = row.getValue().get("new");
                if (n != null && n.isObject()) {
                    rows.put(row.getKey(), n);
                } else {
                    rows.remove(row.getKey());
                }
            }
        }
    }

    /** The rows of {@code table} by uuid (read-only). */
    Map<String, JsonNode> rows(String table) {
        return Collections.unmodifiableMap(tables.getOrDefault(table, Map.of()));
    }

    JsonNode row(String table, String uuid) {
        return tables.getOrDefault(table, Map.of()).get(uuid);
    }

    // ---- OVSDB values ----

    /** The members of a set value (a bare atom is a set of one). */
    static List<JsonNode> set(JsonNode v) {
        if (v == null || v.isNull()) {
            return List.of();
        }
        if (v.isArray() && v.size() == 2 && "set".equals(v.get(0).asText()) && v.get(1).isArray()) {
            List<JsonNode> out = new ArrayList<>();
            v.get(1).forEach(out::add);
            return out;
        }
        return List.of(v);
    }

    /** The uuid strings of a set of {@code ["uuid", U]} references. */
    static List<String> uuids(JsonNode v) {
        List<String> out = new ArrayList<>();
        for (JsonNode a : set(v)) {
            if (a.isArray() && a.size() == 2 && ("uuid".equals(a.get(0).asText()) || "named-uuid".equals(a.get(0).asText()))) {
                out.add(a.get(1).asText());
            }
        }
        return out;
    }

    /** A map value with its atoms as text (OVS's string:string maps). */
    static TreeMap<String, String> map(JsonNode v) {
        TreeMap<String, String> out = new TreeMap<>();
        if (v != null && v.isArray() && v.size() == 2 && "map".equals(v.get(0).asText()) && v.get(1).isArray()) {
            for (JsonNode pair : v.get(1)) {
                if (pair.isArray() && pair.size() == 2) {
                    out.put(atomText(pair.get(0)), atomText(pair.get(1)));
                }
            }
        }
        return out;
    }

    private static String atomText(JsonNode a) {
        return a.isArray() && a.size() == 2 ? a.get(1).asText() : a.asText();
    }

    /** An optional string ({@code ["set",[]]} or a string): the string, or {@code dflt}. */
    static String string(JsonNode v, String dflt) {
        List<JsonNode> s = set(v);
        return s.isEmpty() ? dflt : s.get(0).asText();
    }

    /** An optional integer: the integer, or {@code dflt}. */
    static long integer(JsonNode v, long dflt) {
        List<JsonNode> s = set(v);
        return s.isEmpty() || !s.get(0).canConvertToLong() ? dflt : s.get(0).asLong();
    }

    // ---- encoding ----

    static JsonNode emptySet() {
        ArrayNode a = JsonRpc.MAPPER.createArrayNode();
        a.add("set");
        a.addArray();
        return a;
    }

    static JsonNode encodeSet(java.util.Collection<String> members) {
        ArrayNode a = JsonRpc.MAPPER.createArrayNode();
        a.add("set");
        ArrayNode m = a.addArray();
        members.forEach(m::add);
        return a;
    }

    static JsonNode uuid(String u) {
        ArrayNode a = JsonRpc.MAPPER.createArrayNode();
        a.add("uuid");
        a.add(u);
        return a;
    }

    static JsonNode encodeMap(Map<String, ?> m) {
        ArrayNode a = JsonRpc.MAPPER.createArrayNode();
        a.add("map");
        ArrayNode pairs = a.addArray();
        new TreeMap<>(m).forEach((k, v) -> {
            ArrayNode p = pairs.addArray();
            p.add(k);
            if (v instanceof Number n) {
                p.add(n.longValue());
            } else {
                p.add(String.valueOf(v));
            }
        });
        return a;
    }

    /** {@code where _uuid == U}. */
    static ArrayNode whereUuid(String u) {
        ArrayNode where = JsonRpc.MAPPER.createArrayNode();
        ArrayNode cond = where.addArray();
        cond.add("_uuid");
        cond.add("==");
        cond.add(uuid(u));
        return where;
    }

    static ObjectNode update(String table, String uuid, ObjectNode row) {
        ObjectNode op = JsonRpc.MAPPER.createObjectNode();
        op.put("op", "update");
        op.put("table", table);
        op.set("where", whereUuid(uuid));
        op.set("row", row);
        return op;
    }
}
