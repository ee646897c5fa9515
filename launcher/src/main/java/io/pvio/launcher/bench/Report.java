package io.pvio.launcher.bench;

import java.util.List;
import java.util.Locale;

/** The bench's table and its JSON. */
final class Report {
    static final String LEGEND = """
            columns: Mpps = frames validated by the sink pktgen in the window; Gbit/s = frame bytes (no CRC)
              the sink received in the window (the validated frames' while bad is 0, as the exit status requires);
              pvio cyc/pkt = busy time of PMD core 0 (pvio's side: generator/sink + vhost port) per delivered packet,
              guest cyc/pkt = the same for PMD core 1 (the Java virtio-user front end), both at the nominal MHz;
              busy = share of PMD core 0's time in iterations that received packets or retired completions
              (100% = it never waited);
              copy%, free% = share of PMD core 0's busy time in the vhost ports' copy phases (descriptor walk,
              headers, payload copies or their DMA submission; custom stats *_copy_ns) / in free_pkts calls
              (pmd-stats-show "free_pkts cycles"), both timed per burst with other_config:pmd-perf-metrics=true;
              B/pkt = bytes allocated per delivered packet by pmd-c00 / pmd-c01 (ThreadMXBean); GCs = collections in the window;
              dma/cpu = copies done by a DMA channel / by the CPU on the vhost ports in the window ('-' = not reported);
              after the drain: sent = generated, valid = validated by the sink, drop = dropped and counted by a port
              (ring full), bad = corrupt/duplicate/foreign, lost = sent - valid - drop - bad (must be 0),
              leak = packet buffers in use after the ports closed (must be 0); other = CPU used by other processes
              (% of one CPU) during the window.""";

    private Report() {
    }

    static String table(List<Row> rows, double mhz) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%-8s %-9s %5s %8s %7s %8s %5s %8s %5s %5s %9s %3s %9s %9s %10s %10s %9s %4s %4s %4s %5s%n",
                "dir", "mode", "size", "Mpps", "Gbit/s", "pvio", "busy", "guest", "copy%", "free%", "B/pkt",
                "GCs", "dma", "cpu", "sent", "valid", "drop", "bad", "lost", "leak", "other"));
        sb.append(String.format(Locale.ROOT, "%-8s %-9s %5s %8s %7s %8s %5s %8s %5s %5s %9s %3s %9s %9s %10s %10s %9s %4s %4s %4s %5s%n",
                "", "", "", "", "", "cyc/pkt", "", "cyc/pkt", "", "", "pvio/gst", "", "copies", "copies", "", "",
                "", "", "", "", "load%"));
        for (Row r : rows) {
            if (r.error != null) {
                sb.append(String.format(Locale.ROOT, "%-8s %-9s %5d FAILED: %s%n", r.direction, r.mode, r.size, r.error));
                continue;
            }
            sb.append(String.format(Locale.ROOT,
                    "%-8s %-9s %5d %8.3f %7.2f %8s %4.0f%% %8s %5s %5s %9s %3d %9s %9s %10d %10d %9d %4d %4d %4d %5.0f%n",
                    r.direction, r.mode, r.size, r.mpps, r.gbps, cycles(r.nsPerPkt[0], mhz), 100 * r.pmdBusy[0],
                    cycles(r.nsPerPkt[1], mhz), pct(r.copyShare), pct(r.freeShare),
                    alloc(r.allocPerPkt[0]) + "/" + alloc(r.allocPerPkt[1]), r.gcs, count(r.dmaCopies),
                    count(r.cpuCopies), r.sent, r.valid, r.dropped, r.corrupt, r.unaccounted, r.leaked,
                    r.otherLoadPct));
            for (String n : r.notes) {
                sb.append("         note: ").append(n).append('\n');
            }
        }
        return sb.toString();
    }

    private static String cycles(double ns, double mhz) {
        if (Double.isNaN(ns)) {
            return "-";
        }
        return mhz > 0 ? String.format(Locale.ROOT, "%.0f", ns * mhz / 1000) : String.format(Locale.ROOT, "%.0fns", ns);
    }

    private static String pct(double share) {
        return Double.isNaN(share) ? "-" : String.format(Locale.ROOT, "%.1f", 100 * share);
    }

    private static String alloc(double b) {
        if (Double.isNaN(b)) {
            return "-";
        }
        return b < 10 ? String.format(Locale.ROOT, "%.2f", b) : String.format(Locale.ROOT, "%.0f", b);
    }

    private static String count(long n) {
        return n < 0 ? "-" : Long.toString(n);
    }

    static String json(List<Row> rows, String placement, List<String> notes, BenchOptions o, double mhz) {
        StringBuilder sb = new StringBuilder("{\n");
        sb.append("  \"seconds\": ").append(o.seconds).append(", \"warmup\": ").append(o.warmup)
                .append(", \"rate_mpps\": ").append(num(o.rateMpps)).append(", \"burst\": ").append(o.burst)
                .append(", \"payload\": ").append(str(o.payload)).append(", \"queue_size\": ").append(o.queueSize)
                .append(", \"idle_ports\": ").append(o.idlePorts)
                .append(", \"cpu_mhz\": ").append(num(mhz))
                .append(",\n  \"placement\": ").append(str(placement)).append(",\n  \"notes\": [");
        for (int i = 0; i < notes.size(); i++) {
            sb.append(i == 0 ? "" : ", ").append(str(notes.get(i)));
        }
        sb.append("],\n  \"rows\": [\n");
        for (int i = 0; i < rows.size(); i++) {
            Row r = rows.get(i);
            sb.append("    {\"direction\": ").append(str(r.direction)).append(", \"mode\": ").append(str(r.mode))
                    .append(", \"size\": ").append(r.size);
            if (r.error != null) {
                sb.append(", \"error\": ").append(str(r.error));
            } else {
                sb.append(", \"mpps\": ").append(num(r.mpps)).append(", \"gbps\": ").append(num(r.gbps))
                        .append(", \"window_s\": ").append(num(r.windowS)).append(", \"window_packets\": ")
                        .append(r.windowPkts)
                        .append(", \"pvio_pmd_ns_per_pkt\": ").append(num(r.nsPerPkt[0]))
                        .append(", \"guest_pmd_ns_per_pkt\": ").append(num(r.nsPerPkt[1]))
                        .append(", \"pvio_pmd_cycles_per_pkt\": ").append(num(cyclesOrNaN(r.nsPerPkt[0], mhz)))
                        .append(", \"guest_pmd_cycles_per_pkt\": ").append(num(cyclesOrNaN(r.nsPerPkt[1], mhz)))
                        .append(", \"pvio_pmd_busy\": ").append(num(r.pmdBusy[0]))
                        .append(", \"guest_pmd_busy\": ").append(num(r.pmdBusy[1]))
                        .append(", \"copy_share\": ").append(num(r.copyShare))
                        .append(", \"free_pkts_share\": ").append(num(r.freeShare))
                    .append(", \"idle_rxq_share\": ").append(num(r.idleRxqShare))
                        .append(", \"pvio_pmd_alloc_bytes_per_pkt\": ").append(num(r.allocPerPkt[0]))
                        .append(", \"guest_pmd_alloc_bytes_per_pkt\": ").append(num(r.allocPerPkt[1]))
                        .append(", \"pvio_pmd_alloc_bytes\": ").append(r.allocBytes[0])
                        .append(", \"guest_pmd_alloc_bytes\": ").append(r.allocBytes[1])
                        .append(", \"gcs\": ").append(r.gcs)
                        .append(", \"dma_copies\": ").append(r.dmaCopies < 0 ? "null" : Long.toString(r.dmaCopies))
                        .append(", \"cpu_copies\": ").append(r.cpuCopies < 0 ? "null" : Long.toString(r.cpuCopies))
                        .append(", \"sent\": ").append(r.sent).append(", \"valid\": ").append(r.valid)
                        .append(", \"dropped\": ").append(r.dropped).append(", \"sequence_gaps\": ").append(r.gaps)
                        .append(", \"corrupt\": ").append(r.corrupt).append(", \"lost\": ").append(r.unaccounted)
                        .append(", \"leaked_buffers\": ").append(r.leaked)
                        .append(", \"other_load_pct\": ").append(num(r.otherLoadPct));
            }
            sb.append(", \"notes\": [");
            for (int k = 0; k < r.notes.size(); k++) {
                sb.append(k == 0 ? "" : ", ").append(str(r.notes.get(k)));
            }
            sb.append("]}").append(i + 1 < rows.size() ? "," : "").append('\n');
        }
        sb.append("  ]\n}");
        return sb.toString();
    }

    /** ns to cycles at {@code mhz}; NaN (null in JSON) when the clock rate is unknown. */
    private static double cyclesOrNaN(double ns, double mhz) {
        return mhz > 0 ? ns * mhz / 1000 : Double.NaN;
    }

    private static String num(double d) {
        return Double.isNaN(d) || Double.isInfinite(d) ? "null" : String.format(Locale.ROOT, "%.4f", d);
    }

    static String str(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.append('"').toString();
    }
}
