package io.pvio.control.vsctl;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * OVSDB's textual forms, as ovs-vsctl prints and parses them: atoms (strings quoted only when they have
 * to be), maps {@code {k=v, ...}}, sets {@code [a, b]}, and the empty value {@code []}.
 */
public final class Ovsdb {
    private static final Pattern UUID = Pattern.compile(
            "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");

    private Ovsdb() {
    }

    /** ovsdb's string_needs_quotes: anything but [A-Za-z_][A-Za-z0-9_.-]* (and not true/false/a uuid). */
    public static boolean needsQuotes(String s) {
        if (s.isEmpty()) {
            return true;
        }
        char c = s.charAt(0);
        if (!isAlpha(c) && c != '_') {
            return true;
        }
        for (int i = 1; i < s.length(); i++) {
            c = s.charAt(i);
            if (!isAlpha(c) && !(c >= '0' && c <= '9') && c != '_' && c != '-' && c != '.') {
                return true;
            }
        }
        return s.equals("true") || s.equals("false") || UUID.matcher(s).matches();
    }

    private static boolean isAlpha(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }

    /** A string atom as ovs-vsctl prints it. */
    public static String atom(String s) {
        if (!needsQuotes(s)) {
            return s;
        }
        StringBuilder sb = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\t' -> sb.append("\\t");
                default -> sb.append(c);
            }
        }
        return sb.append('"').toString();
    }

    /** A value already in ovs-vsctl's text form, printed as it is. */
    public record Literal(String text) {
        @Override
        public String toString() {
            return text;
        }
    }

    /** A uuid value: printed bare. */
    public record Uuid(String value) {
        @Override
        public String toString() {
            return value;
        }
    }

    /**
     * Formats a column value: String (atom), Long or Integer (bare), null (empty: {@code []}),
     * Map (with String or Long values) or List of uuids.
     */
    public static String format(Object v) {
        if (v == null) {
            return "[]";
        }
        if (v instanceof Uuid u) {
            return u.value();
        }
        if (v instanceof Literal l) {
            return l.text();
        }
        if (v instanceof String s) {
            return atom(s);
        }
        if (v instanceof Number n) {
            return n.toString();
        }
        if (v instanceof Map<?, ?> m) {
            StringBuilder sb = new StringBuilder("{");
            boolean first = true;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                if (!first) {
                    sb.append(", ");
                }
                first = false;
                sb.append(format(e.getKey())).append('=').append(format(e.getValue()));
            }
            return sb.append('}').toString();
        }
        if (v instanceof List<?> l) {
            StringBuilder sb = new StringBuilder("[");
            for (int i = 0; i < l.size(); i++) {
                sb.append(i == 0 ? "" : ", ").append(l.get(i));
            }
            return sb.append(']').toString();
        }
        return String.valueOf(v);
    }

    /**
     * Parses a string atom: a double-quoted string (C escapes \" \\ \n \t) or the text as it is. The quotes
     * are those the user typed when the shell did not strip them; the value keeps commas and parentheses.
     */
    public static String parseAtom(String text) throws VsctlException {
        if (!text.startsWith("\"")) {
            return text;
        }
        int[] end = new int[1];
        String s = quoted(text, 0, end);
        if (end[0] != text.length()) {
            throw new VsctlException("\"" + text + "\": trailing characters after the closing quote");
        }
        return s;
    }

    /** Reads a quoted string starting at {@code text[from] == '"'}; end[0] = index after the closing quote. */
    static String quoted(String text, int from, int[] end) throws VsctlException {
        StringBuilder sb = new StringBuilder();
        int i = from + 1;
        while (i < text.length()) {
            char c = text.charAt(i++);
            if (c == '"') {
                end[0] = i;
                return sb.toString();
            }
            if (c == '\\') {
                if (i >= text.length()) {
                    break;
                }
                char e = text.charAt(i++);
                switch (e) {
                    case 'n' -> sb.append('\n');
                    case 't' -> sb.append('\t');
                    default -> sb.append(e);
                }
            } else {
                sb.append(c);
            }
        }
        throw new VsctlException(text + ": missing closing quote");
    }

    /** Parses a map value {@code {k=v, k2="v,2"}} (also {@code {}} and {@code []}). */
    public static TreeMap<String, String> parseMap(String text) throws VsctlException {
        TreeMap<String, String> m = new TreeMap<>();
        String t = text.trim();
        if (t.equals("[]") || t.equals("{}")) {
            return m;
        }
        if (!t.startsWith("{") || !t.endsWith("}")) {
            throw new VsctlException("\"" + text + "\" is not a map (write {key=value, ...})");
        }
        String body = t.substring(1, t.length() - 1);
        for (String item : splitTopLevel(body)) {
            String it = item.trim();
            if (it.isEmpty()) {
                continue;
            }
            int[] end = new int[1];
            String key;
            int eq;
            if (it.startsWith("\"")) {
                key = quoted(it, 0, end);
                eq = end[0];
            } else {
                eq = it.indexOf('=');
                key = eq < 0 ? it : it.substring(0, eq).trim();
            }
            if (eq < 0 || eq >= it.length() || it.charAt(eq) != '=') {
                throw new VsctlException("\"" + it + "\" in " + text + " is not key=value");
            }
            if (key.isEmpty()) {
                throw new VsctlException("empty key in " + text);
            }
            m.put(key, parseAtom(it.substring(eq + 1).trim()));
        }
        return m;
    }

    /** Splits on commas that are outside quotes and parentheses. */
    static List<String> splitTopLevel(String s) throws VsctlException {
        List<String> out = new java.util.ArrayList<>();
        int depth = 0;
        boolean inQuote = false;
        int start = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (inQuote) {
                if (c == '\\') {
                    i++;
                } else if (c == '"') {
                    inQuote = false;
                }
            } else if (c == '"') {
                inQuote = true;
            } else if (c == '(' || c == '[' || c == '{') {
                depth++;
            } else if (c == ')' || c == ']' || c == '}') {
                depth--;
            } else if (c == ',' && depth == 0) {
                out.add(s.substring(start, i));
                start = i + 1;
            }
        }
        if (inQuote) {
            throw new VsctlException(s + ": missing closing quote");
        }
        out.add(s.substring(start));
        return out;
    }
}
