package io.pvio.launcher.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** One measured case. Index 0 of the per-PMD arrays is pvio's side (core 0), 1 the front end (core 1). */
final class Row {
    final String direction;
    final String mode;
    final int size;
    double windowS;
    long windowPkts;
    double mpps;
    double gbps;
    final double[] pmdBusy = new double[2];
    final double[] nsPerPkt = {Double.NaN, Double.NaN};
    final double[] allocPerPkt = {Double.NaN, Double.NaN};
    final long[] allocBytes = new long[2];
    /** Share of PMD core 0's busy time in vhost copy phases / in free_pkts (NaN: not measured). */
    double copyShare = Double.NaN;
    double freeShare = Double.NaN;
    /** Share of PMD core 0's busy time polling its idle rx queues (pmd-stats-show "idle rxq poll cycles"). */
    double idleRxqShare = Double.NaN;
    long gcs = -1;
    long dmaCopies = -1;
    long cpuCopies = -1;
    double otherLoadPct = Double.NaN;
    long sent;
    long valid;
    long dropped;
    long gaps;
    long corrupt;
    long unaccounted;
    long leaked;
    String error;
    final List<String> notes = new ArrayList<>();

    Row(String direction, String mode, int size) {
        this.direction = direction;
        this.mode = mode;
        this.size = size;
    }

    String oneLine() {
        if (error != null) {
            return String.format(Locale.ROOT, "%s %s %d: FAILED: %s", direction, mode, size, error);
        }
        return String.format(Locale.ROOT, "%s %s %d: %.3f Mpps %.2f Gbit/s, pvio PMD %.0f ns/pkt (%.0f%% busy,"
                + " %.1f%% copies, %.1f%% free_pkts, %.2f%% idle rxq polls), guest PMD %.0f ns/pkt; alloc %.2f/%.2f B/pkt, %d GCs; copies dma %d cpu %d; sent %d valid %d"
                + " dropped %d corrupt %d lost %d; leaked %d; other load %.0f%%%s", direction, mode, size, mpps, gbps,
                nsPerPkt[0], 100 * pmdBusy[0], 100 * copyShare, 100 * freeShare, 100 * idleRxqShare, nsPerPkt[1], allocPerPkt[0], allocPerPkt[1], gcs, dmaCopies, cpuCopies,
                sent, valid, dropped, corrupt, unaccounted, leaked, otherLoadPct,
                notes.isEmpty() ? "" : "; " + String.join("; ", notes));
    }
}
