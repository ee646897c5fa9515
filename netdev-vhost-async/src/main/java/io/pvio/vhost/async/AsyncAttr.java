package io.pvio.vhost.async;

import io.pvio.dma.PciAddress;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The parsed {@code options:vhost-async-attr} of a vhost port: per queue, the DMA channel that copies for
 * it and the threshold below which the CPU copies instead. Syntax, as OVS's proposal wrote it:
 * {@code (txq0,00:04.0,256),(txq1,0000:00:04.1,1024),(rxq0,00:04.2,256)}. {@code txqN} is the port's tx
 * queue N (pvio → guest, enqueue), {@code rxqN} its rx queue N (guest → pvio, dequeue).
 */
public final class AsyncAttr {
    /** Highest queue index accepted (vhost-user allows at most 128 queue pairs here). */
    public static final int MAX_QUEUE = 127;

    /** One entry. */
    public record Entry(boolean tx, int queue, String address, int threshold) {
        public String queueName() {
            return (tx ? "txq" : "rxq") + queue;
        }

        @Override
        public String toString() {
            return "(" + queueName() + "," + address + "," + threshold + ")";
        }
    }

    private static final Pattern ENTRY = Pattern.compile("\\(\\s*([^,()]*)\\s*,\\s*([^,()]*)\\s*,\\s*([^,()]*)\\s*\\)");
    private static final Pattern QUEUE = Pattern.compile("(txq|rxq)(\\d{1,3})");

    private final List<Entry> entries;

    private AsyncAttr(List<Entry> entries) {
        this.entries = Collections.unmodifiableList(entries);
    }

    public static final AsyncAttr NONE = new AsyncAttr(List.of());

    public List<Entry> entries() {
        return entries;
    }

    /** The entry for tx (or rx) queue {@code q}, or null. */
    public Entry find(boolean tx, int q) {
        for (Entry e : entries) {
            if (e.tx == tx && e.queue == q) {
                return e;
            }
        }
        return null;
    }

    /**
     * Parses the option's value (null or blank: no asynchronous queue).
     *
     * @throws IllegalArgumentException with a message for the user naming the faulty entry
     */
    public static AsyncAttr parse(String value) {
        if (value == null || value.isBlank()) {
            return NONE;
        }
        String v = value.trim();
        List<Entry> out = new ArrayList<>();
        int at = 0;
        int n = 0;
        while (at < v.length()) {
            Matcher m = ENTRY.matcher(v);
            m.region(at, v.length());
            if (!m.lookingAt()) {
                throw new IllegalArgumentException("vhost-async-attr: expected '(txqN|rxqN,PCI-ADDRESS,THRESHOLD)' at '"
                        + v.substring(at) + "' in '" + value + "'");
            }
            n++;
            String what = "vhost-async-attr: entry " + n + " '" + m.group() + "': ";
            Matcher q = QUEUE.matcher(m.group(1).trim());
            if (!q.matches()) {
                throw new IllegalArgumentException(what + "unknown queue '" + m.group(1).trim()
                        + "' (expected txqN or rxqN)");
            }
            int queue = Integer.parseInt(q.group(2));
            if (queue > MAX_QUEUE) {
                throw new IllegalArgumentException(what + "queue " + queue + " is above " + MAX_QUEUE);
            }
            String address;
            try {
                address = PciAddress.normalize(m.group(2).trim());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(what + e.getMessage());
            }
            int threshold;
            try {
                threshold = Integer.parseInt(m.group(3).trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(what + "threshold '" + m.group(3).trim()
                        + "' is not a number of bytes");
            }
            if (threshold < 0 || threshold > 65536) {
                throw new IllegalArgumentException(what + "threshold " + threshold + " is outside 0..65536 bytes");
            }
            boolean tx = q.group(1).equals("txq");
            for (Entry e : out) {
                if (e.tx == tx && e.queue == queue) {
                    throw new IllegalArgumentException(what + e.queueName() + " is given twice");
                }
            }
            out.add(new Entry(tx, queue, address, threshold));
            at = m.end();
            while (at < v.length() && (v.charAt(at) == ',' || Character.isWhitespace(v.charAt(at)))) {
                at++;
            }
        }
        return new AsyncAttr(out);
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder();
        for (Entry e : entries) {
            if (b.length() > 0) {
                b.append(',');
            }
            b.append(e);
        }
        return b.toString();
    }
}
